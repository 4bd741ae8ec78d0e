// Implementation of the shared CLI argument parser.
#include "common/args.h"

#include <algorithm>
#include <cstdlib>

namespace gemdesk::cli {

Args::Args(int argc, char ** argv, const std::vector<std::string> & flags) {
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a.rfind("--", 0) != 0 || a == "--") {
            positional_.push_back(a);
            continue;
        }
        std::string name = a.substr(2);
        auto eq = name.find('=');
        if (eq != std::string::npos) {
            values_[name.substr(0, eq)] = name.substr(eq + 1);
        } else if (std::find(flags.begin(), flags.end(), name) != flags.end()) {
            values_[name] = "1";
        } else if (i + 1 < argc) {
            values_[name] = argv[++i];
        } else {
            values_[name] = "";
            if (error_.empty()) error_ = "option --" + name + " needs a value";
        }
    }
}

std::string Args::get(const std::string & name, const std::string & fallback) const {
    auto it = values_.find(name);
    return it == values_.end() ? fallback : it->second;
}

long long Args::get_int(const std::string & name, long long fallback) const {
    auto it = values_.find(name);
    if (it == values_.end()) return fallback;
    char * end = nullptr;
    long long v = std::strtoll(it->second.c_str(), &end, 10);
    if (it->second.empty() || *end != '\0') {
        if (error_.empty()) error_ = "--" + name + " expects an integer, got '" + it->second + "'";
        return fallback;
    }
    return v;
}

double Args::get_double(const std::string & name, double fallback) const {
    auto it = values_.find(name);
    if (it == values_.end()) return fallback;
    char * end = nullptr;
    double v = std::strtod(it->second.c_str(), &end);
    if (it->second.empty() || *end != '\0') {
        if (error_.empty()) error_ = "--" + name + " expects a number, got '" + it->second + "'";
        return fallback;
    }
    return v;
}

std::string Args::check_known(const std::vector<std::string> & known) const {
    if (!error_.empty()) return error_;
    for (const auto & [name, value] : values_) {
        if (std::find(known.begin(), known.end(), name) == known.end())
            return "unknown option --" + name;
    }
    return "";
}

}  // namespace gemdesk::cli
