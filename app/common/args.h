// Tiny command-line parser shared by the gemdesk-cli subcommands: `--name value`, `--name=value`
// and boolean `--flag`. Unknown options are reported by check_known(), never ignored silently.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace gemdesk::cli {

class Args {
public:
    // argv[0] is the subcommand name. `flags` lists options that take no value.
    Args(int argc, char ** argv, const std::vector<std::string> & flags);

    bool has(const std::string & name) const { return values_.count(name) != 0; }
    std::string get(const std::string & name, const std::string & fallback = "") const;
    long long get_int(const std::string & name, long long fallback) const;
    double get_double(const std::string & name, double fallback) const;
    const std::vector<std::string> & positional() const { return positional_; }
    // Empty when every option given is in `known`; else an error message naming the first
    // unknown option (or a malformed number found by get_int/get_double).
    std::string check_known(const std::vector<std::string> & known) const;
    const std::string & error() const { return error_; }

private:
    std::map<std::string, std::string> values_;
    std::vector<std::string> positional_;
    mutable std::string error_;
};

}  // namespace gemdesk::cli
