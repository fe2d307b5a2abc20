#pragma once
/**
 * @file An answer body kept as text, shared by the models parsed from it, so that each item's JSON
 * (every field, modelled or not) stays reachable without a DOM built on every call.
 */

#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace oic::detail {

/// Where `text` has a JSON string starting at `i` (the opening quote), returns one past its closing quote.
inline std::size_t skip_json_string(std::string_view text, std::size_t i) {
    for (++i; i < text.size(); ++i) {
        if (text[i] == '\\')
            ++i;
        else if (text[i] == '"')
            return i + 1;
    }
    return text.size();
}

/// One past the JSON value starting at `i` in valid JSON `text`.
inline std::size_t skip_json_value(std::string_view text, std::size_t i) {
    int depth = 0;
    while (i < text.size()) {
        char const ch = text[i];
        if (ch == '"') {
            i = skip_json_string(text, i);
            if (depth == 0)
                return i;
            continue;
        }
        if (ch == '{' || ch == '[') {
            ++depth;
        } else if (ch == '}' || ch == ']') {
            if (--depth <= 0)
                return i + (depth == 0 ? 1 : 0);
        } else if (depth == 0 && (ch == ',' || ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n')) {
            return i; // the end of a number or literal
        }
        ++i;
    }
    return i;
}

inline std::size_t skip_json_space(std::string_view text, std::size_t i) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t' || text[i] == '\r' || text[i] == '\n'))
        ++i;
    return i;
}

/**
 * A page's body, shared by its items. The text of the items of the top-level `items` array is
 * located on first use only (one scan over the body), so callers who never ask pay nothing.
 * `text` must be valid JSON: it is set only from bodies the typed parser accepted.
 */
class json_text {
public:
    explicit json_text(std::string text) : text_(std::move(text)) {}

    std::string_view whole() const noexcept { return text_; }

    /// The JSON text of `items[i]` in the top-level object.
    std::string_view item(std::size_t i) const {
        std::call_once(once_, [this] { find_items(); });
        if (i >= items_.size())
            return {};
        return std::string_view(text_).substr(items_[i].first, items_[i].second);
    }

private:
    /// `key` is a JSON string with its quotes; decodes only what an `items` key may be written as.
    static bool is_items_key(std::string_view key) {
        if (key == "\"items\"")
            return true;
        if (key.find('\\') == std::string_view::npos)
            return false;
        std::string decoded; // "\u0069tems" is "items" too
        for (std::size_t i = 1; i + 1 < key.size(); ++i) {
            if (key[i] == '\\' && i + 5 < key.size() && key[i + 1] == 'u') {
                decoded.push_back(static_cast<char>(std::stoi(std::string(key.substr(i + 2, 4)), nullptr, 16)));
                i += 5;
            } else if (key[i] == '\\') {
                decoded.push_back(key[++i]);
            } else {
                decoded.push_back(key[i]);
            }
        }
        return decoded == "items";
    }

    void find_items() const {
        std::string_view const t = text_;
        std::size_t i = skip_json_space(t, 0);
        if (i >= t.size() || t[i] != '{')
            return;
        for (i = skip_json_space(t, i + 1); i < t.size() && t[i] == '"';) {
            std::size_t const key_end = skip_json_string(t, i);
            bool const items = is_items_key(t.substr(i, key_end - i));
            i = skip_json_space(t, skip_json_space(t, key_end) + 1); // past ':'
            if (items && i < t.size() && t[i] == '[') {
                items_.clear(); // the typed parser refuses a second "items"; be exact anyway
                for (i = skip_json_space(t, i + 1); i < t.size() && t[i] != ']';) {
                    std::size_t const end = skip_json_value(t, i);
                    items_.emplace_back(i, end - i);
                    i = skip_json_space(t, end);
                    if (i < t.size() && t[i] == ',')
                        i = skip_json_space(t, i + 1);
                }
            }
            i = skip_json_space(t, skip_json_value(t, i));
            if (i < t.size() && t[i] == ',')
                i = skip_json_space(t, i + 1);
        }
    }

    std::string text_;
    mutable std::once_flag once_;
    mutable std::vector<std::pair<std::size_t, std::size_t>> items_;
};

} // namespace oic::detail
