#pragma once
// A YAML document as a small tree that remembers where every node was written, built from
// yaml-cpp's event parser. Unlike YAML::Node it keeps duplicate map keys (so they can be
// reported) and tells quoted strings from plain scalars; parsing and validating 10,000 hosts
// this way takes less than YAML::Load alone (docs/performance.md).

#include <deque>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.hpp"

namespace crawl::config::yaml {

struct Node {
  enum class Kind { null, scalar, sequence, map };
  Kind kind = Kind::null;
  int line = 0;         // 1-based
  int column = 0;       // 1-based
  std::string value;    // scalar text, verbatim
  bool quoted = false;  // written quoted, as a block scalar or with an explicit tag: a string
  std::vector<const Node*> items;                            // sequence items
  std::vector<std::pair<const Node*, const Node*>> entries;  // map entries in file order
};

std::string_view kind_name(Node::Kind kind);

class Document {
 public:
  Document() = default;
  Document(const Document&) = delete;  // nodes point at each other
  Document& operator=(const Document&) = delete;
  Document(Document&&) = default;  // moving a deque keeps its elements where they are
  Document& operator=(Document&&) = default;

  // The root is a null node for an empty text.
  const Node& root() const { return *m_root; }

 private:
  friend Result<Document> parse(std::string_view text, std::string_view file_name);
  std::deque<Node> m_nodes;  // a deque never moves its elements: pointers into it stay valid
  const Node* m_root = nullptr;
};

// Parses exactly one document. Syntax errors come back as "file:line:column: message".
// Aliases point at their anchor's node; merge keys ("<<") are left to the caller as plain keys.
Result<Document> parse(std::string_view text, std::string_view file_name);

}  // namespace crawl::config::yaml
