#pragma once
// Exact number <-> text conversions for state stored as metadata strings. Doubles use the
// shortest representation that reads back bit for bit, so a resumed run is identical.

#include <cstdint>
#include <optional>
#include <string>

namespace unroll::optim::text {

/// Shortest decimal that parses back to exactly `v` ("0.1", "inf", "-inf", "nan").
std::string from_double(double v);
/// The whole of `s` as a double (accepts "inf", "-inf", "nan"); nullopt otherwise.
std::optional<double> to_double(const std::string& s);
/// Throws std::invalid_argument "<who>: invalid <option> = <v>, expected <want>": the one
/// message every optimizer and schedule gives for a bad hyper-parameter.
[[noreturn]] void invalid_option(const std::string& who, const char* option, double v,
                                 const char* want);
/// The whole of `s` as a decimal integer; nullopt otherwise.
std::optional<std::int64_t> to_int(const std::string& s);

}  // namespace unroll::optim::text
