#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace crawl {

// Edit distance counting insertions, deletions, substitutions and swaps of adjacent characters
// (optimal string alignment), so "prot" is 1 away from "port".
std::size_t edit_distance(std::string_view a, std::string_view b);

// The candidate nearest to `word` if it is close enough to be a plausible typo, else "".
std::string nearest(std::string_view word, const std::vector<std::string_view>& candidates);

// " (did you mean 'x'?)" or "" when nothing is close: for appending to an error message.
std::string did_you_mean(std::string_view word, const std::vector<std::string_view>& candidates);

}  // namespace crawl
