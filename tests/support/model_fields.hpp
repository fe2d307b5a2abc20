#pragma once
// A model's fields as one line of text, for tests and fuzzers that compare two parses of the same
// items: the models hold their fields by value, so equal lines mean equal items.

#include <oic/api/connection.hpp>

#include <sstream>
#include <string>

namespace oic_test {

/// Every field of a connection, as one line: two connections read the same when these are equal.
inline std::string fields_of(oic::connection const& c) {
    std::ostringstream out;
    out << c.id << '|' << c.name << '|' << c.status << '|' << c.role << '|' << c.adapter.name << '|'
        << c.adapter.display_name << '|' << c.adapter.type << '|' << c.security_policy << '|' << c.usage.value_or(-1)
        << '|' << c.usage_active.value_or(-1) << '|' << c.locked << '|' << c.percentage_complete.value_or(-1) << '|'
        << c.created << '|' << c.created_by << '|' << c.last_updated << '|' << c.last_updated_by;
    for (auto const& p : c.properties)
        out << "|{" << p.name << '|' << p.value << '|' << p.display_name << '}';
    return out.str();
}

} // namespace oic_test
