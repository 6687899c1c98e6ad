// ndb parser.
#include "console/ndb.hpp"

#include <fmt/core.h>

namespace vcon {

namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r'; }

bool is_attr_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
         c == '.';
}

Error line_error(int line, const std::string& reason) { return make_error(fmt::format("line {}: {}", line, reason)); }

// Appends the pairs of one physical line to `entry`.
Result<void> parse_pairs(std::string_view text, int line, NdbEntry& entry) {
  std::size_t i = 0;
  while (i < text.size()) {
    if (is_space(text[i])) {
      ++i;
      continue;
    }
    if (text[i] == '#') return {};
    std::size_t start = i;
    while (i < text.size() && is_attr_char(text[i])) ++i;
    if (i == start) return line_error(line, fmt::format("unexpected '{}': expected an attribute name", text[i]));
    NdbPair pair{std::string(text.substr(start, i - start)), {}, line};
    if (i < text.size() && text[i] == '=') {
      ++i;
      if (i < text.size() && text[i] == '"') {
        std::size_t close = text.find('"', i + 1);
        if (close == std::string_view::npos) return line_error(line, "unterminated quote in " + pair.attr + "=");
        pair.value = std::string(text.substr(i + 1, close - i - 1));
        i = close + 1;
      } else {
        start = i;
        while (i < text.size() && !is_space(text[i]) && text[i] != '#') {
          if (text[i] == '"' || text[i] == '=') {
            return line_error(line, fmt::format("unexpected '{}' in the value of {}= (quote the whole value)",
                                                text[i], pair.attr));
          }
          ++i;
        }
        pair.value = std::string(text.substr(start, i - start));
      }
    }
    if (i < text.size() && !is_space(text[i]) && text[i] != '#') {
      return line_error(line, fmt::format("unexpected '{}' after {}", text[i], pair.attr));
    }
    entry.pairs.push_back(std::move(pair));
  }
  return {};
}

}  // namespace

std::vector<std::string> NdbEntry::all(std::string_view attr) const {
  std::vector<std::string> values;
  for (const auto& pair : pairs) {
    if (pair.attr == attr) values.push_back(pair.value);
  }
  return values;
}

std::vector<NdbEntry> parse_ndb(std::string_view text) {
  std::vector<NdbEntry> entries;
  int line = 0;
  while (!text.empty()) {
    std::size_t end = text.find('\n');
    std::string_view current = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    ++line;
    std::size_t first = 0;
    while (first < current.size() && is_space(current[first])) ++first;
    if (first == current.size() || current[first] == '#') continue;  // blank or comment
    if (first == 0) {
      entries.push_back(NdbEntry{line, {}, {}});
    } else if (entries.empty()) {
      entries.push_back(NdbEntry{line, {}, line_error(line, "indented line before any entry (an entry starts at column 0)").message()});
      continue;
    }
    NdbEntry& entry = entries.back();
    auto parsed = parse_pairs(current, line, entry);
    if (!parsed && entry.error.empty()) entry.error = parsed.error().message();
  }
  return entries;
}

}  // namespace vcon
