#pragma once
/// @file
/// Where a request's body comes from when it is not in memory: `body_source`, a file read as
/// it is sent (`file_source`), a `multipart/form-data` envelope around another source
/// (`multipart_source`), and progress reports at most every 100 ms (`progress_source`).

#include <oic/error.hpp>
#include <oic/http/body_sink.hpp>
#include <oic/http/types.hpp>

#include <boost/asio/buffer.hpp>

#include <openssl/rand.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <utility>

namespace oic::http {

/**
 * The body of a request, read as it is sent (`send_options::source`): memory stays bounded by one
 * write buffer whatever its size. Its size is known before the first byte goes out
 * (`Content-Length`). A redirect that replays the body (307, 308) or a retry reads it again from
 * the start: `rewind`.
 */
class body_source {
public:
    virtual ~body_source() = default;
    /// The body's length in bytes.
    virtual std::uint64_t size() const = 0;
    /// The next bytes into `out`: how many (0 only at the end). An error ends the call and closes
    /// the connection: the server sees a body cut short, never a whole wrong one.
    virtual std::size_t read(asio::mutable_buffer out, error_code& ec) = 0;
    /// Back to the first byte. False when bytes already read cannot be read again: the call then
    /// ends with `error::body_not_replayable` rather than send a partial body.
    virtual bool rewind() = 0;
    /// What `ec`, returned by `read`, means here (a file names itself).
    virtual std::string describe(error_code ec) const { return ec.message(); }
};

/// A body held in memory: a string the source owns.
class string_source final : public body_source {
public:
    explicit string_source(std::string bytes) : bytes_(std::move(bytes)) {} ///< sends `bytes`, as often as asked
    std::uint64_t size() const override { return bytes_.size(); }
    std::size_t read(asio::mutable_buffer out, error_code&) override {
        auto const n = std::min(out.size(), bytes_.size() - at_);
        std::memcpy(out.data(), bytes_.data() + at_, n);
        at_ += n;
        return n;
    }
    bool rewind() override {
        at_ = 0;
        return true;
    }

private:
    std::string bytes_;
    std::size_t at_ = 0;
};

/**
 * A file read as it is sent. `open` checks it (it exists, is a regular file, can be read) before
 * any request is made; its size is taken then, and a file that changes size while it is sent ends
 * the call with an error naming it.
 */
class file_source final : public body_source {
public:
    file_source() = default;
    file_source(file_source const&) = delete;
    file_source& operator=(file_source const&) = delete;
    ~file_source() override {
        if (fd_ >= 0)
            ::close(fd_);
    }

    /// Opens `path`; fails, naming it, when it is missing, a folder or unreadable.
    error_code open(std::filesystem::path path, diagnostics& diag) {
        if (fd_ >= 0)
            ::close(std::exchange(fd_, -1));
        path_ = std::move(path);
        fd_ = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd_ < 0)
            return fail(diag, last_error(), "cannot be read");
        struct stat st {};
        if (::fstat(fd_, &st) != 0)
            return fail(diag, last_error(), "cannot be read");
        if (!S_ISREG(st.st_mode))
            return fail(diag,
                        make_error_code(S_ISDIR(st.st_mode) ? boost::system::errc::is_a_directory
                                                            : boost::system::errc::invalid_argument),
                        S_ISDIR(st.st_mode) ? "is a folder" : "is not a regular file");
        size_ = static_cast<std::uint64_t>(st.st_size);
        at_ = 0;
        return {};
    }

    std::uint64_t size() const override { return size_; }
    std::size_t read(asio::mutable_buffer out, error_code& ec) override {
        auto const want = static_cast<std::size_t>(std::min<std::uint64_t>(out.size(), size_ - at_));
        if (want == 0)
            return 0;
        for (;;) {
            auto const n = ::pread(fd_, out.data(), want, static_cast<off_t>(at_));
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0) {
                ec = last_error();
                return 0;
            }
            if (n == 0) { // shorter than when it was opened
                ec = make_error_code(boost::system::errc::file_too_large);
                shrank_ = true;
                return 0;
            }
            at_ += static_cast<std::uint64_t>(n);
            return static_cast<std::size_t>(n);
        }
    }
    bool rewind() override {
        at_ = 0;
        return true;
    }
    std::string describe(error_code ec) const override {
        return path_.string() + (shrank_ ? " changed while it was being sent" : " cannot be read: " + ec.message());
    }

    std::filesystem::path const& path() const noexcept { return path_; } ///< the file it reads

private:
    static error_code last_error() { return error_code(errno, boost::system::system_category()); }
    error_code fail(diagnostics& diag, error_code ec, std::string what) const {
        return oic::detail::report(diag, ec, path_.string() + " " + what + ": " + ec.message());
    }

    std::filesystem::path path_;
    int fd_ = -1;
    std::uint64_t size_ = 0;
    std::uint64_t at_ = 0;
    bool shrank_ = false;
};

/**
 * One file as the only part of a `multipart/form-data` body (RFC 7578), the way OIC's import takes
 * an archive: `--B`, the part's header, the file's bytes read from `content` as they are sent,
 * `--B--`. The boundary is random (`oic-` and 32 letters and digits); the content is checked for it
 * as it streams, and a content that holds it ends the call (the server sees a body cut short)
 * rather than send a body the server would split elsewhere.
 */
class multipart_source final : public body_source {
public:
    /// `content` must outlive this source. `filename` is sent with `"`, `\`, and control
    /// characters replaced by `_`. `boundary` empty: a random one.
    multipart_source(body_source& content, std::string_view field, std::string_view filename,
                     std::string_view content_type = "application/octet-stream", std::string boundary = {})
        : content_(content), boundary_(boundary.empty() ? random_boundary() : std::move(boundary)),
          head_("--" + boundary_ + "\r\nContent-Disposition: form-data; name=\"" + safe(field) + "\"; filename=\"" +
                safe(filename) + "\"\r\nContent-Type: " + safe(content_type) + "\r\n\r\n"),
          tail_("\r\n--" + boundary_ + "--\r\n"), delimiter_("--" + boundary_) {}

    /// The request's `Content-Type`.
    std::string content_type() const { return "multipart/form-data; boundary=" + boundary_; }
    std::string const& boundary() const noexcept { return boundary_; } ///< the parts' delimiter (random unless given)

    std::uint64_t size() const override { return head_.size() + content_.size() + tail_.size(); }

    std::size_t read(asio::mutable_buffer out, error_code& ec) override {
        auto* p = static_cast<char*>(out.data());
        std::size_t n = 0;
        if (at_ < head_.size()) {
            n = std::min(out.size(), head_.size() - at_);
            std::memcpy(p, head_.data() + at_, n);
        } else if (at_ < head_.size() + content_.size()) {
            n = content_.read(out, ec);
            if (!ec && n == 0)
                ec = make_error_code(boost::system::errc::file_too_large); // shorter than it said
            if (ec)
                return 0;
            if (holds_delimiter({p, n})) {
                ec = make_error_code(boost::system::errc::illegal_byte_sequence);
                collided_ = true;
                return 0;
            }
        } else {
            auto const from = at_ - head_.size() - content_.size();
            n = static_cast<std::size_t>(std::min<std::uint64_t>(out.size(), tail_.size() - from));
            std::memcpy(p, tail_.data() + from, n);
        }
        at_ += n;
        return n;
    }

    bool rewind() override {
        if (at_ > head_.size() && !content_.rewind())
            return false;
        at_ = 0;
        carry_.clear();
        return true;
    }

    std::string describe(error_code ec) const override {
        return collided_ ? "the archive holds the multipart boundary --" + boundary_ : content_.describe(ec);
    }

private:
    static std::string random_boundary() {
        constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        unsigned char random[32];
        if (RAND_bytes(random, sizeof random) != 1)
            fail(error::bad_config, "no random bytes for a multipart boundary");
        std::string b = "oic-";
        for (auto r : random)
            b += alphabet[r % (sizeof alphabet - 1)];
        return b;
    }
    static std::string safe(std::string_view s) {
        std::string out(s);
        for (auto& c : out)
            if (c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
                c = '_';
        return out;
    }
    /// Whether `--boundary` occurs in the content, within `piece` or across it and the last one.
    bool holds_delimiter(std::string_view piece) {
        if (piece.find(delimiter_) != std::string_view::npos)
            return true;
        auto const keep = delimiter_.size() - 1;
        carry_.append(piece.substr(0, keep));
        if (carry_.find(delimiter_) != std::string::npos)
            return true;
        carry_ = piece.size() >= keep ? std::string(piece.substr(piece.size() - keep))
                                      : carry_.substr(carry_.size() - std::min(carry_.size(), keep));
        return false;
    }

    body_source& content_;
    std::string boundary_;
    std::string head_;
    std::string tail_;
    std::string delimiter_;
    std::string carry_; // the content's last bytes, fewer than the delimiter's
    std::uint64_t at_ = 0;
    bool collided_ = false;
};

/// Passes `next` on, counting what is read, and reports progress to `report` (when given) at most
/// every `every`, and once more when the body is whole (`finish`). A rewind starts the count again.
class progress_source final : public body_source {
public:
    using clock = std::chrono::steady_clock; ///< of `every`
    /// Counts what is read from `next` (which must outlive it), reporting at most every `every`.
    progress_source(body_source& next, std::function<void(transfer_progress)> report,
                    clock::duration every = std::chrono::milliseconds(100))
        : next_(next), report_(std::move(report)), every_(every), progress_{0, next.size()} {}

    std::uint64_t size() const override { return next_.size(); }
    std::size_t read(asio::mutable_buffer out, error_code& ec) override {
        auto const n = next_.read(out, ec);
        progress_.done += n;
        if (report_ && n > 0 && clock::now() - last_ >= every_) {
            last_ = clock::now();
            report_(progress_);
        }
        return n;
    }
    bool rewind() override {
        progress_.done = 0;
        return next_.rewind();
    }
    std::string describe(error_code ec) const override { return next_.describe(ec); }
    /// The last report: the body went out whole.
    void finish() {
        if (report_)
            report_(progress_);
    }

private:
    body_source& next_;
    std::function<void(transfer_progress)> report_;
    clock::duration every_;
    clock::time_point last_ = clock::now();
    transfer_progress progress_;
};

} // namespace oic::http
