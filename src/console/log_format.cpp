// Console log line format.
#include "console/log_format.hpp"

#include <ctime>

namespace vcon {

std::string format_timestamp(SystemTime when) {
  using namespace std::chrono;
  auto micros = duration_cast<microseconds>(when.time_since_epoch()).count();
  std::time_t seconds = static_cast<std::time_t>(micros / 1000000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(micros % 1000000));
  return buf;
}

std::string make_visible(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    auto byte = static_cast<unsigned char>(c);
    if ((byte < 0x20 && c != '\n' && c != '\t') || byte == 0x7f) {
      out += '^';
      out += static_cast<char>(byte ^ 0x40);
    } else {
      out += c;
    }
  }
  return out;
}

void LogLineWriter::console(std::string_view bytes, SystemTime now, std::vector<std::string_view>& pieces,
                            std::vector<std::size_t>* line_starts) {
  bool stamped = false;
  while (!bytes.empty()) {
    if (at_line_start_) {
      if (!stamped) stamp_ = format_timestamp(now);  // once per call: all its lines arrived together
      stamped = true;
      if (line_starts) line_starts->push_back(pieces.size());
      pieces.push_back(stamp_);
      pieces.push_back(continued_ ? " + " : " | ");
      continued_ = false;
      at_line_start_ = false;
    }
    auto newline = bytes.find('\n');
    auto take = newline == std::string_view::npos ? bytes.size() : newline + 1;
    pieces.push_back(bytes.substr(0, take));
    bytes.remove_prefix(take);
    if (newline != std::string_view::npos) at_line_start_ = true;
  }
}

std::string LogLineWriter::console(std::string_view bytes, SystemTime now) {
  std::vector<std::string_view> pieces;
  console(bytes, now, pieces);
  std::string out;
  for (auto piece : pieces) out += piece;
  return out;
}

std::string LogLineWriter::event(std::string_view text, SystemTime now) {
  std::string out;
  if (!at_line_start_) {
    out += '\n';
    at_line_start_ = true;
    continued_ = true;
  }
  return out + event_line(text, now);
}

std::string LogLineWriter::event_line(std::string_view text, SystemTime now) {
  std::string out = format_timestamp(now);
  out += " * ";
  out += text;
  out += '\n';
  return out;
}

LogLineReader::Line LogLineReader::parse(std::string_view line) {
  Line parsed;
  if (line.size() >= kTimestampLength + 3 && line[kTimestampLength - 1] == 'Z' && line[kTimestampLength] == ' ' &&
      line[kTimestampLength + 2] == ' ') {
    char kind = line[kTimestampLength + 1];
    if (kind == '|' || kind == '+' || kind == '*') {
      parsed.timestamp = line.substr(0, kTimestampLength);
      parsed.kind = kind;
      parsed.text = line.substr(kTimestampLength + 3);
      return parsed;
    }
  }
  parsed.text = line;
  return parsed;
}

std::string LogLineReader::raw(std::string_view line) {
  Line parsed = parse(line);
  std::string out;
  if (parsed.kind == '*') return out;
  if (held_newline_ && parsed.kind != '+') out += '\n';
  held_newline_ = false;
  std::string_view text = parsed.text;
  if (!text.empty() && text.back() == '\n') {
    text.remove_suffix(1);
    held_newline_ = true;
  }
  out.append(text);
  return out;
}

std::string LogLineReader::finish() {
  if (!held_newline_) return {};
  held_newline_ = false;
  return "\n";
}

}  // namespace vcon
