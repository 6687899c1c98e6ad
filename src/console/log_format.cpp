// Console log line format.
#include "console/log_format.hpp"

#include <cstdint>

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

namespace {

// Length of the valid UTF-8 sequence at `text[i]` and its code point, or 0.
std::size_t utf8_sequence(std::string_view text, std::size_t i, std::uint32_t& code) {
  auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  unsigned char lead = byte(i);
  std::size_t length = lead >= 0xf0 && lead <= 0xf4 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc2 && lead < 0xe0 ? 2 : 0;
  if (lead >= 0xf5 || length == 0 || i + length > text.size()) return 0;
  code = lead & (0xff >> (length + 1));
  for (std::size_t k = 1; k < length; ++k) {
    if ((byte(i + k) & 0xc0) != 0x80) return 0;
    code = (code << 6) | (byte(i + k) & 0x3f);
  }
  static const std::uint32_t kSmallest[] = {0, 0, 0x80, 0x800, 0x10000};
  if (code < kSmallest[length] || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return 0;
  return length;
}

void add_caret(std::string& out, unsigned code) {
  if (code >= 0x80) out += "M-";  // C1 controls, as cat -v shows them
  out += '^';
  out += static_cast<char>((code & 0x7f) ^ 0x40);
}

}  // namespace

std::string make_visible(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    auto byte = static_cast<unsigned char>(text[i]);
    if (byte < 0x80) {
      if ((byte < 0x20 && byte != '\n' && byte != '\t') || byte == 0x7f) add_caret(out, byte);
      else out += text[i];
      ++i;
      continue;
    }
    // C1 controls (CSI, OSC, DCS, ST ...) drive terminals too, as a raw
    // byte or encoded in UTF-8; the rest of UTF-8 passes as it is.
    std::uint32_t code = 0;
    std::size_t length = utf8_sequence(text, i, code);
    if (length && code < 0xa0) {
      add_caret(out, code);
    } else if (length) {
      out.append(text.substr(i, length));
    } else if (byte < 0xa0) {
      add_caret(out, byte);
    } else {
      out += text[i];
    }
    i += length ? length : 1;
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
  if (at_line_start_) return event_line(text, now);
  at_line_start_ = true;
  continued_ = true;
  return "\n" + event_line(text, now, '~');
}

std::string LogLineWriter::event_line(std::string_view text, SystemTime now, char kind) {
  std::string out = format_timestamp(now);
  out += ' ';
  out += kind;
  out += ' ';
  out += text;
  out += '\n';
  return out;
}

LogLineReader::Line LogLineReader::parse(std::string_view line) {
  Line parsed;
  if (line.size() >= kTimestampLength + 3 && line[kTimestampLength - 1] == 'Z' && line[kTimestampLength] == ' ' &&
      line[kTimestampLength + 2] == ' ') {
    char kind = line[kTimestampLength + 1];
    if (kind == '|' || kind == '+' || kind == '*' || kind == '~') {
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
  if (parsed.kind == '~') {  // the newline before it was vcon's
    held_newline_ = false;
    return out;
  }
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

std::string LogLineReader::raw_continued(std::string_view rest) {
  std::string out;
  if (held_newline_) {  // a line's beginning never ends in '\n': nothing is held
    out += '\n';
    held_newline_ = false;
  }
  if (!rest.empty() && rest.back() == '\n') {
    rest.remove_suffix(1);
    held_newline_ = true;
  }
  out.append(rest);
  return out;
}

std::string LogLineReader::finish() {
  if (!held_newline_) return {};
  held_newline_ = false;
  return "\n";
}

}  // namespace vcon
