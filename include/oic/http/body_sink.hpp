#pragma once
/// @file
/// Where a 2xx answer's body goes instead of memory: `body_sink`, a file that appears only
/// when whole (`file_sink`), and progress reports at most every 100 ms (`progress_sink`).

#include <oic/error.hpp>
#include <oic/http/types.hpp>

#include <boost/asio/buffer.hpp>
#include <boost/beast/core/buffers_range.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/optional/optional.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <utility>

namespace oic::http {

/**
 * The destination of a 2xx answer's body (`send_options::sink`): the body arrives piece by piece,
 * as it is read, and memory stays bounded by the connection's read buffer whatever its size.
 * Answers that are not 2xx (a redirect, an error page) are read into memory as usual.
 */
class body_sink {
public:
    virtual ~body_sink() = default;
    /// A body begins (its length when the answer says it); anything written before is dropped.
    virtual error_code start(std::optional<std::uint64_t> content_length) = 0;
    /// The next bytes of the body. An error ends the call with it (and closes the connection).
    virtual error_code write(asio::const_buffer bytes) = 0;
};

/// How far a transfer is: bytes so far, and the total when the answer said it.
struct transfer_progress {
    std::uint64_t done = 0;               ///< body bytes so far
    std::optional<std::uint64_t> total{}; ///< the body's size, when known in advance
};

/// Passes the body on to `next`, counting it, and reports progress to `report` (when given) at
/// most every `every`, and once more when the body is whole (`finish`).
class progress_sink final : public body_sink {
public:
    using clock = std::chrono::steady_clock; ///< of `every`
    /// Counts what goes to `next` (which must outlive it), reporting at most every `every`.
    progress_sink(body_sink& next, std::function<void(transfer_progress)> report,
                  clock::duration every = std::chrono::milliseconds(100))
        : next_(next), report_(std::move(report)), every_(every) {}

    error_code start(std::optional<std::uint64_t> content_length) override {
        progress_ = {0, content_length};
        last_ = clock::now();
        return next_.start(content_length);
    }
    error_code write(asio::const_buffer bytes) override {
        if (auto ec = next_.write(bytes))
            return ec;
        progress_.done += bytes.size();
        if (report_ && clock::now() - last_ >= every_) {
            last_ = clock::now();
            report_(progress_);
        }
        return {};
    }
    /// The last report: the body is whole.
    void finish() {
        if (report_)
            report_(progress_);
    }
    /// How far the body is.
    transfer_progress const& progress() const noexcept { return progress_; }

private:
    body_sink& next_;
    std::function<void(transfer_progress)> report_;
    clock::duration every_;
    clock::time_point last_{};
    transfer_progress progress_{};
};

/**
 * A download into the file `target`, which appears only whole: the body goes to a temporary file
 * beside it (same folder, so the rename cannot cross file systems), and `commit()` flushes it to
 * disk and renames it into place. Until then, and whatever fails (the connection, the disk, a
 * status that is not 2xx), nothing exists under `target`; the destructor removes the temporary
 * file of a download that was not committed. An existing `target` is replaced only by a
 * committed download.
 */
class file_sink final : public body_sink {
public:
    file_sink() = default;
    file_sink(file_sink const&) = delete;
    file_sink& operator=(file_sink const&) = delete;
    ~file_sink() override { discard(); }

    /// Creates the temporary file. Fails, naming `target`, when it is a folder or its folder is
    /// missing or not writable: before any request is made.
    error_code open(std::filesystem::path target, diagnostics& diag) {
        discard();
        failure_ = {};
        target_ = std::move(target);
        if (target_.empty() || !target_.has_filename())
            return fail(diag, make_error_code(boost::system::errc::invalid_argument), "is not a file name");
        std::error_code fec;
        if (std::filesystem::is_directory(target_, fec))
            return fail(diag, make_error_code(boost::system::errc::is_a_directory), "is a folder");
        auto const folder = target_.has_parent_path() ? target_.parent_path() : std::filesystem::path(".");
        temp_ = (folder / ("." + target_.filename().string() + ".XXXXXX.part")).string();
        fd_ = ::mkstemps(temp_.data(), 5); // 5: the ".part" after the X's
        if (fd_ < 0) {
            auto const ec = last_error();
            temp_.clear();
            return fail(diag, ec, "cannot be written (creating a file in " + folder.string() + ")");
        }
        return {};
    }

    error_code start(std::optional<std::uint64_t>) override {
        size_ = 0;
        if (::ftruncate(fd_, 0) != 0 || ::lseek(fd_, 0, SEEK_SET) != 0)
            return failure_ = last_error();
        return {};
    }

    error_code write(asio::const_buffer bytes) override {
        auto const* p = static_cast<char const*>(bytes.data());
        for (std::size_t left = bytes.size(); left > 0;) {
            auto const n = ::write(fd_, p, left);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                return failure_ = n < 0 ? last_error() : make_error_code(boost::system::errc::io_error);
            p += n;
            left -= static_cast<std::size_t>(n);
            size_ += static_cast<std::uint64_t>(n);
        }
        return {};
    }

    /// Whether writing failed (the disk full, say): the call's error then comes from here.
    bool failed() const noexcept { return failure_.failed(); }
    /// The write failure, naming `target()`.
    error_code report_failure(diagnostics& diag) const { return fail(diag, failure_, "cannot be written"); }

    /// The download is whole: flushes it to disk and renames it to `target()`, replacing what was
    /// there. On failure the temporary file is removed and `diag` names `target()`.
    error_code commit(diagnostics& diag) {
        if (fd_ < 0)
            return fail(diag, make_error_code(boost::system::errc::bad_file_descriptor), "was not opened");
        if (::fsync(fd_) != 0 || ::close(std::exchange(fd_, -1)) != 0) {
            auto const ec = last_error();
            discard();
            return fail(diag, ec, "cannot be written");
        }
        if (::rename(temp_.c_str(), target_.c_str()) != 0) {
            auto const ec = last_error();
            discard();
            return fail(diag, ec, "cannot be written (renaming the download into place)");
        }
        temp_.clear();
        // The rename itself reaches the disk with the folder's entry.
        auto const folder = target_.has_parent_path() ? target_.parent_path() : std::filesystem::path(".");
        if (int const dir = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dir >= 0) {
            ::fsync(dir);
            ::close(dir);
        }
        return {};
    }

    /// Removes the temporary file, if any (a download abandoned).
    void discard() noexcept {
        if (fd_ >= 0)
            ::close(std::exchange(fd_, -1));
        if (!temp_.empty())
            ::unlink(temp_.c_str());
        temp_.clear();
    }

    std::filesystem::path const& target() const noexcept { return target_; } ///< where the file appears once whole
    /// Bytes written so far.
    std::uint64_t size() const noexcept { return size_; }

private:
    static error_code last_error() { return error_code(errno, boost::system::system_category()); }
    error_code fail(diagnostics& diag, error_code ec, std::string what) const {
        return oic::detail::report(diag, ec, target_.string() + " " + what + ": " + ec.message());
    }

    std::filesystem::path target_;
    std::string temp_; // empty: none
    int fd_ = -1;
    std::uint64_t size_ = 0;
    error_code failure_;
};

namespace detail {

/// A Beast body whose reader hands what it parses to a `body_sink`.
struct sink_body {
    using value_type = body_sink*;

    class reader {
    public:
        // Holds the message's pointer, not the sink: a parser converted from another makes its
        // reader before the body is set.
        template <bool isRequest, class Fields>
        reader(beast::http::header<isRequest, Fields>&, value_type& sink) : sink_(sink) {}

        void init(boost::optional<std::uint64_t> const& length, error_code& ec) {
            ec = sink_->start(length ? std::optional<std::uint64_t>(*length) : std::nullopt);
        }
        template <class ConstBufferSequence>
        std::size_t put(ConstBufferSequence const& buffers, error_code& ec) {
            std::size_t n = 0;
            for (auto const b : beast::buffers_range_ref(buffers)) {
                if ((ec = sink_->write(b)))
                    return n;
                n += b.size();
            }
            return n;
        }
        void finish(error_code& ec) { ec = {}; }

    private:
        value_type& sink_;
    };
};

} // namespace detail
} // namespace oic::http
