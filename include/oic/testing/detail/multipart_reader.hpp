#pragma once
/**
 * @file A strict, incremental `multipart/form-data` reader (RFC 7578 on RFC 2046 section 5.1) for
 * the mock's upload routes. It is fed the request body piece by piece, as it arrives, and keeps
 * none of it: of the part named `file` it keeps the size, the SHA-256 and the first line; of the
 * other parts only their names. Plain code without I/O, tested on its own.
 *
 * The body is `preamble CRLF --boundary`, then parts each introduced by a delimiter line and made
 * of header lines, an empty line and content, then the close delimiter `CRLF --boundary--` and an
 * epilogue. The delimiter is `CRLF --boundary` wherever it appears (the body is read as if it
 * began with CRLF, so that a body starting with `--boundary` has an empty preamble): content may
 * hold `--boundary` anywhere else, for instance after a lone LF. The search keeps a partial match
 * across pieces, so a delimiter split between two reads is found as surely as a whole one.
 */

#include <openssl/evp.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace oic::testing::detail {

/// What a multipart reader learnt of a form: its `file` part, and the names of all its parts.
struct multipart_upload {
    std::uint64_t size = 0;  ///< bytes of the `file` part's content
    std::string sha256;      ///< ...their SHA-256, lowercase hex
    std::string filename;    ///< the `file` part's `filename` parameter; empty when it has none
    std::string first_line;  ///< its content up to the first LF (without it, nor a CR before it), at most 200 bytes
    bool first_line_ended{}; ///< whether that LF came within the first 200 bytes (+ 1 for a CR)
    std::vector<std::string> parts; ///< every part's `name`, in order
};

/// Why a request's form cannot be read: the status and the message of the answer.
struct multipart_refusal {
    unsigned status = 400;
    std::string message;
};

/// A header value `type; name=value; name="quoted value"`, parameter names lowercased.
struct header_parameters {
    std::string type;
    std::vector<std::pair<std::string, std::string>> params;

    /// The value of parameter `name` (lowercase), or nothing.
    std::optional<std::string> get(std::string_view name) const {
        for (auto const& [key, value] : params)
            if (key == name)
                return value;
        return std::nullopt;
    }
};

/// ASCII lowercase.
inline std::string lowercase(std::string_view s) {
    std::string out(s);
    for (char& c : out)
        if (c >= 'A' && c <= 'Z')
            c = static_cast<char>(c - 'A' + 'a');
    return out;
}

/// Parses `type *( ";" name "=" ( token / quoted-string ) )` with optional spaces around the
/// separators (RFC 9110 section 5.6.6); nothing when the value does not have that shape.
inline std::optional<header_parameters> parse_header_parameters(std::string_view value) {
    std::size_t at = 0;
    auto const skip_space = [&] {
        while (at < value.size() && (value[at] == ' ' || value[at] == '\t'))
            ++at;
    };
    auto const token = [&] {
        std::size_t const start = at;
        while (at < value.size() && value[at] != ';' && value[at] != '=' && value[at] != '"' && value[at] != ' ' &&
               value[at] != '\t' && static_cast<unsigned char>(value[at]) > 0x20 && value[at] != 0x7f)
            ++at;
        return value.substr(start, at - start);
    };
    header_parameters out;
    skip_space();
    out.type = lowercase(token());
    if (out.type.empty())
        return std::nullopt;
    for (;;) {
        skip_space();
        if (at == value.size())
            return out;
        if (value[at] != ';')
            return std::nullopt;
        ++at;
        skip_space();
        if (at == value.size())
            return out; // a trailing ';'
        std::string name = lowercase(token());
        skip_space();
        if (name.empty() || at == value.size() || value[at] != '=')
            return std::nullopt;
        ++at;
        skip_space();
        std::string param;
        if (at < value.size() && value[at] == '"') {
            for (++at;; ++at) {
                if (at == value.size())
                    return std::nullopt; // unterminated
                char c = value[at];
                if (c == '"')
                    break;
                if (c == '\\') {
                    if (++at == value.size())
                        return std::nullopt;
                    c = value[at];
                }
                param.push_back(c);
            }
            ++at;
        } else {
            param = std::string(token());
            if (param.empty())
                return std::nullopt;
        }
        out.params.emplace_back(std::move(name), std::move(param));
    }
}

/// Whether `b` is a boundary RFC 2046 allows: 1 to 70 of `bchars`, not ending with a space.
inline bool valid_boundary(std::string_view b) {
    if (b.empty() || b.size() > 70 || b.back() == ' ')
        return false;
    for (char c : b) {
        bool const ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        std::string_view("'()+_,-./:=? ").find(c) != std::string_view::npos;
        if (!ok)
            return false;
    }
    return true;
}

/// The boundary of a request whose `Content-Type` is `content_type`, or why it has none to use: 415
/// when the body is not `multipart/form-data`, 400 when the boundary is missing or invalid.
inline std::variant<std::string, multipart_refusal> form_data_boundary(std::string_view content_type) {
    auto const parsed = parse_header_parameters(content_type);
    if (!parsed || parsed->type != "multipart/form-data")
        return multipart_refusal{415, "The body must be multipart/form-data, not '" + std::string(content_type) + "'."};
    auto const boundary = parsed->get("boundary");
    if (!boundary)
        return multipart_refusal{400, "The multipart/form-data Content-Type has no boundary parameter."};
    if (!valid_boundary(*boundary))
        return multipart_refusal{400, "The multipart boundary '" + *boundary +
                                          "' is invalid: it must be 1 to 70 letters, digits or '()+_,-./:=? "
                                          "characters, not ending with a space (RFC 2046)."};
    return *boundary;
}

/**
 * Reads one `multipart/form-data` body fed in pieces of any size. `feed` each piece as it arrives,
 * then `finish` when the body has ended; either returns false once the body is refused, and
 * `error()` says why in a sentence fit for a 400 answer. After a successful `finish`, `upload()`
 * describes the form.
 */
class multipart_reader {
public:
    static constexpr std::size_t max_part_headers = 8 * 1024; ///< bytes of one part's header lines
    static constexpr std::size_t max_first_line = 200;

    /// `boundary` must satisfy `valid_boundary`.
    explicit multipart_reader(std::string_view boundary)
        : boundary_(boundary), delimiter_("\r\n--" + std::string(boundary)), border_(delimiter_.size() + 1, 0),
          sha_(EVP_MD_CTX_new()) {
        if (!valid_boundary(boundary))
            throw std::invalid_argument("oic::testing: invalid multipart boundary");
        if (!sha_)
            throw std::bad_alloc();
        // border_[m]: the longest proper prefix of the delimiter's first m bytes that is also
        // their suffix (Knuth-Morris-Pratt), where a partial match falls back to on a mismatch.
        for (std::size_t m = 2; m <= delimiter_.size(); ++m) {
            std::size_t k = border_[m - 1];
            while (k > 0 && delimiter_[k] != delimiter_[m - 1])
                k = border_[k];
            border_[m] = delimiter_[k] == delimiter_[m - 1] ? k + 1 : 0;
        }
        matched_ = 2; // the CRLF the body is read as beginning with
    }

    /// Reads the next piece of the body. False once the body is refused (then and later).
    bool feed(std::string_view piece) {
        std::size_t at = 0;
        while (at < piece.size() && state_ != state::failed) {
            std::string_view const rest = piece.substr(at);
            switch (state_) {
            case state::preamble:
            case state::content: at += scan(rest); break;
            case state::delimiter_line: at += read_delimiter_line(rest); break;
            case state::headers: at += read_headers(rest); break;
            case state::epilogue: at = piece.size(); break;
            case state::failed: break;
            }
        }
        return state_ != state::failed;
    }

    /// The body has ended. False if it is refused: it ended before the close delimiter, or the form
    /// has no part named `file`.
    bool finish() {
        if (state_ == state::failed)
            return false;
        if (state_ != state::epilogue)
            return fail(std::string("The multipart body ended before its close delimiter --") + boundary_ + "--" +
                        (state_ == state::preamble ? " (and before any delimiter line)." : "."));
        if (!has_file_)
            return fail("No file is uploaded: the form has no part named \"file\".");
        return true;
    }

    bool failed() const { return state_ == state::failed; }
    /// Why the body was refused; empty while it is not.
    std::string const& error() const { return error_; }
    /// The form, once `finish()` returned true.
    multipart_upload const& upload() const { return upload_; }

private:
    enum class state { preamble, delimiter_line, headers, content, epilogue, failed };

    /// Looks for the delimiter in preamble or content; returns how much of `data` it consumed.
    std::size_t scan(std::string_view data) {
        std::size_t at = 0;
        while (at < data.size()) {
            if (matched_ == 0) { // nothing pending: everything up to the next CR is content
                void const* cr = std::memchr(data.data() + at, '\r', data.size() - at);
                std::size_t const stop = cr ? static_cast<char const*>(cr) - data.data() : data.size();
                content(data.substr(at, stop - at));
                at = stop;
                if (!cr)
                    return at;
            }
            char const c = data[at++];
            while (matched_ > 0 && delimiter_[matched_] != c) {
                // The pending bytes are the delimiter's first matched_ ones: those before its
                // border turn out to be content.
                std::size_t const keep = border_[matched_];
                content(std::string_view(delimiter_).substr(0, matched_ - keep));
                matched_ = keep;
            }
            if (delimiter_[matched_] == c)
                ++matched_;
            else
                content(std::string_view(&c, 1));
            if (matched_ == delimiter_.size()) {
                matched_ = 0;
                end_part();
                state_ = state::delimiter_line;
                line_ = line::start;
                return at;
            }
        }
        return at;
    }

    /// After `CRLF --boundary`: `--` (the close delimiter), or optional spaces and CRLF.
    std::size_t read_delimiter_line(std::string_view data) {
        for (std::size_t at = 0; at < data.size(); ++at) {
            char const c = data[at];
            switch (line_) {
            case line::start:
                if (c == '-')
                    line_ = line::dash;
                else if (c == ' ' || c == '\t')
                    line_ = line::padding;
                else if (c == '\r')
                    line_ = line::cr;
                else
                    return fail_at(at, bad_delimiter_line());
                break;
            case line::dash:
                if (c != '-')
                    return fail_at(at, bad_delimiter_line());
                state_ = state::epilogue;
                return at + 1;
            case line::padding:
                if (c == '\r')
                    line_ = line::cr;
                else if (c != ' ' && c != '\t')
                    return fail_at(at, bad_delimiter_line());
                break;
            case line::cr:
                if (c != '\n')
                    return fail_at(at, bad_delimiter_line());
                state_ = state::headers;
                headers_.clear();
                return at + 1;
            }
        }
        return data.size();
    }

    std::string bad_delimiter_line() const {
        return "A multipart delimiter line --" + boundary_ + " is followed by other text than CRLF or --.";
    }

    /// Collects a part's header lines up to the empty line; returns how much of `data` it consumed.
    std::size_t read_headers(std::string_view data) {
        std::size_t const before = headers_.size();
        std::size_t const room = max_part_headers + 2 - before; // the lines, then the empty one
        std::size_t const take = std::min(data.size(), room);
        headers_.append(data.data(), take);
        std::size_t end = std::string::npos;
        if (headers_.starts_with("\r\n")) {
            end = 2; // no header lines at all
        } else {
            auto const found = headers_.find("\r\n\r\n", before >= 3 ? before - 3 : 0);
            if (found != std::string::npos)
                end = found + 4;
        }
        if (end == std::string::npos) {
            if (headers_.size() >= max_part_headers + 2)
                return fail_at(take,
                               "A part's header lines exceed " + std::to_string(max_part_headers / 1024) + " KiB.");
            return take;
        }
        headers_.resize(end);
        start_part();
        return end - before;
    }

    /// Reads the header lines in `headers_` and starts the part's content.
    void start_part() {
        std::string_view block(headers_);
        block.remove_suffix(2); // the empty line's CRLF; each line below ends with CRLF
        std::optional<std::string> disposition;
        while (!block.empty()) {
            auto const eol = block.find("\r\n");
            std::string_view const line = block.substr(0, eol);
            block.remove_prefix(eol + 2);
            auto const colon = line.find(':');
            if (colon == std::string_view::npos || colon == 0 || line.front() == ' ' || line.front() == '\t' ||
                line.substr(0, colon).find_first_of(" \t") != std::string_view::npos ||
                line.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos) {
                fail("A part header line is malformed: '" + printable(line) + "'.");
                return;
            }
            if (lowercase(line.substr(0, colon)) != "content-disposition")
                continue;
            if (disposition) {
                fail("A part has more than one Content-Disposition header.");
                return;
            }
            std::string_view value = line.substr(colon + 1);
            while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
                value.remove_prefix(1);
            while (!value.empty() && (value.back() == ' ' || value.back() == '\t'))
                value.remove_suffix(1);
            disposition = std::string(value);
        }
        if (!disposition) {
            fail("A part has no Content-Disposition header (RFC 7578 requires form-data with a name).");
            return;
        }
        auto const parsed = parse_header_parameters(*disposition);
        auto const name = parsed ? parsed->get("name") : std::nullopt;
        if (!parsed || parsed->type != "form-data" || !name || name->empty()) {
            fail("A part's Content-Disposition is not form-data with a name: '" + printable(*disposition) + "'.");
            return;
        }
        upload_.parts.push_back(*name);
        in_file_ = *name == "file";
        if (in_file_) {
            if (has_file_) {
                fail("The form has more than one part named \"file\".");
                return;
            }
            has_file_ = true;
            upload_.filename = parsed->get("filename").value_or("");
            if (EVP_DigestInit_ex(sha_.get(), EVP_sha256(), nullptr) != 1)
                throw std::runtime_error("oic::testing: SHA-256 failed");
        }
        state_ = state::content;
    }

    /// Bytes of the current part's content (or of the preamble).
    void content(std::string_view bytes) {
        if (state_ != state::content || !in_file_ || bytes.empty())
            return;
        upload_.size += bytes.size();
        if (EVP_DigestUpdate(sha_.get(), bytes.data(), bytes.size()) != 1)
            throw std::runtime_error("oic::testing: SHA-256 failed");
        while (!line_done_ && !bytes.empty()) {
            char const c = bytes.front();
            bytes.remove_prefix(1);
            std::string& line = upload_.first_line;
            if (c == '\n') {
                if (line.ends_with('\r'))
                    line.pop_back();
                upload_.first_line_ended = line_done_ = true;
            } else if (line.size() < max_first_line || (line.size() == max_first_line && c == '\r')) {
                line.push_back(c);
            } else {
                end_first_line();
            }
        }
    }

    /// The first line ends without LF: its first 200 bytes.
    void end_first_line() {
        if (upload_.first_line.size() > max_first_line)
            upload_.first_line.resize(max_first_line);
        line_done_ = true;
    }

    /// The delimiter ended the preamble or a part.
    void end_part() {
        if (state_ == state::content && in_file_) {
            unsigned char digest[EVP_MAX_MD_SIZE];
            unsigned int n = 0;
            if (EVP_DigestFinal_ex(sha_.get(), digest, &n) != 1)
                throw std::runtime_error("oic::testing: SHA-256 failed");
            constexpr char digits[] = "0123456789abcdef";
            upload_.sha256.clear();
            for (unsigned i = 0; i < n; ++i) {
                upload_.sha256 += digits[digest[i] >> 4];
                upload_.sha256 += digits[digest[i] & 15];
            }
            if (!line_done_)
                end_first_line();
        }
        in_file_ = false;
    }

    bool fail(std::string message) {
        if (state_ != state::failed) {
            state_ = state::failed;
            error_ = std::move(message);
        }
        return false;
    }

    std::size_t fail_at(std::size_t consumed, std::string message) {
        fail(std::move(message));
        return consumed;
    }

    /// `s` with control bytes as `\xHH`, at most 100 bytes of it.
    static std::string printable(std::string_view s) {
        std::string out;
        for (char c : s.substr(0, 100)) {
            auto const u = static_cast<unsigned char>(c);
            if (u < 0x20 || u == 0x7f) {
                constexpr char digits[] = "0123456789abcdef";
                out += "\\x";
                out += digits[u >> 4];
                out += digits[u & 15];
            } else {
                out.push_back(c);
            }
        }
        return s.size() > 100 ? out + "..." : out;
    }

    struct md_free {
        void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
    };
    enum class line { start, dash, padding, cr };

    std::string boundary_;
    std::string delimiter_;           ///< CRLF -- boundary
    std::vector<std::size_t> border_; ///< see the constructor
    std::size_t matched_ = 0;         ///< bytes of the delimiter matched at the end of what was read
    state state_ = state::preamble;
    line line_ = line::start;
    std::string headers_;
    bool in_file_ = false;
    bool has_file_ = false;
    bool line_done_ = false;
    std::unique_ptr<EVP_MD_CTX, md_free> sha_;
    multipart_upload upload_;
    std::string error_;
};

} // namespace oic::testing::detail
