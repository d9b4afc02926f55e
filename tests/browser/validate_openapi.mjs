// Validates an OpenAPI document with @apidevtools/swagger-parser (a checker not of ours):
//   node validate_openapi.mjs URL
// Prints the paths it holds, one per line, and exits 0; on an invalid document prints why and
// exits 1.
import SwaggerParser from "@apidevtools/swagger-parser";

const url = process.argv[2];
const response = await fetch(url);
if (!response.ok) {
  console.error(`GET ${url}: ${response.status}`);
  process.exit(1);
}
const doc = await response.json();
try {
  const api = await SwaggerParser.validate(doc);
  for (const [path, item] of Object.entries(api.paths))
    for (const method of Object.keys(item)) console.log(`${method.toUpperCase()} ${path}`);
} catch (e) {
  console.error(`invalid OpenAPI document: ${e.message}`);
  process.exit(1);
}
