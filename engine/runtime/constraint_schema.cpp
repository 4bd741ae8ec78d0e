// JSON Schema -> constraint grammar nodes and tries (supported keywords: see kRefused and the
// unsupported() message). Annotations and unknown keywords are ignored, as JSON Schema prescribes;
// assertions that cannot be enforced token by token are refused, naming the keyword.
#include <algorithm>
#include <functional>
#include <limits>
#include <set>

#include "runtime/constraint_compiler.h"
#include "runtime/constraint_matcher.h"
#include "runtime/constraint_phases.h"

namespace gemma::runtime::cg {
namespace {

using chat::Json;

// Assertions constrained decoding cannot enforce token by token.
// clang-format off
const std::set<std::string> kRefused = {
    "pattern", "patternProperties", "minProperties", "maxProperties", "uniqueItems", "contains",
    "minContains", "maxContains", "prefixItems", "additionalItems", "not", "if", "then", "else",
    "allOf", "dependentRequired", "dependentSchemas", "multipleOf", "propertyNames",
    "unevaluatedProperties", "unevaluatedItems", "$ref", "$dynamicRef"};
// clang-format on

constexpr int32_t kInf = 1 << 29;

Status read_bounds(const Json & s, const std::string & path, Node & n);

Error unsupported(const std::string & path, const std::string & what) {
    return make_error(ErrorCode::unsupported,
                      path + ": " + what +
                          " (constrained decoding supports type, properties, required, "
                          "additionalProperties, items, minItems, maxItems, minLength, maxLength, "
                          "minimum, maximum, exclusiveMinimum, exclusiveMaximum, enum, const, "
                          "nullable and anyOf/oneOf of different types)");
}

Error invalid(const std::string & path, const std::string & what) {
    return make_error(ErrorCode::invalid_argument, path + ": " + what);
}

}  // namespace

int32_t SchemaCompiler::build_trie(
    const std::vector<std::pair<std::vector<int32_t>, int32_t>> & seqs,
    const std::function<int32_t(int32_t)> & extra, bool key_masks) {
    const int32_t root = int32_t(g_.trie.size());
    g_.trie.emplace_back();
    for (const auto & [seq, value] : seqs) {
        int32_t at = root;
        for (int32_t sym : seq) {
            if (key_masks) g_.trie[size_t(at)].mask |= uint64_t(1) << value;
            auto & next = g_.trie[size_t(at)].next;
            auto it = std::lower_bound(next.begin(), next.end(), std::make_pair(sym, int32_t(-1)));
            if (it != next.end() && it->first == sym) {
                at = it->second;
                continue;
            }
            const int32_t child = int32_t(g_.trie.size());
            const int32_t depth = g_.trie[size_t(at)].depth + 1;
            next.insert(it, {sym, child});
            g_.trie.emplace_back();
            g_.trie.back().depth = depth;
            at = child;
        }
        if (key_masks) g_.trie[size_t(at)].mask |= uint64_t(1) << value;
        if (g_.trie[size_t(at)].value < 0) g_.trie[size_t(at)].value = value;
    }
    // Children always come after their parent: one reverse pass settles min_rest.
    for (int32_t i = int32_t(g_.trie.size()) - 1; i >= root; --i) {
        TrieNode & t = g_.trie[size_t(i)];
        t.min_rest = t.value >= 0 ? extra(t.value) : kInf;
        for (const auto & [sym, child] : t.next)
            t.min_rest = std::min(t.min_rest, 1 + g_.trie[size_t(child)].min_rest);
    }
    return root;
}

// Internal nodes: `any` (a union of free object / array / string / number / literal) and the
// JSON key string of free-form objects.
void SchemaCompiler::begin() {
    const bool json = g_.syntax == Syntax::json;
    Node obj;
    obj.kind = Node::Kind::object;
    obj.container = true;
    obj.starts.set('{');
    obj.min_cost = 2;
    const int32_t o = add(obj);
    Node arr;
    arr.kind = Node::Kind::array;
    arr.container = true;
    arr.starts.set('[');
    arr.min_cost = 2;
    const int32_t a = add(arr);
    Node str;
    str.kind = Node::Kind::string;
    str.starts.set(json ? size_t('"') : size_t(kQuote));
    str.min_cost = 2;
    const int32_t s = add(str);
    Node num;
    num.kind = Node::Kind::number;
    num.starts.set('-');
    for (char c = '0'; c <= '9'; ++c) num.starts.set(size_t(c));
    num.min_cost = 1;
    const int32_t n = add(num);
    auto lit = compile_literals({Json(true), Json(false), Json(nullptr)}, "$");
    auto any = make_union({o, a, s, n, *lit}, "$");
    g_.any = *any;
    g_.nodes[size_t(o)].extra = g_.any;
    g_.nodes[size_t(a)].items = g_.any;
    g_.key_string = s;
}

Status SchemaCompiler::check_keywords(const Json & s, const std::string & path) const {
    for (const auto & [key, value] : s.items())
        if (kRefused.count(key)) return unsupported(path, "keyword '" + key + "' is not supported");
    return Status::success();
}

Result<std::vector<int32_t>> SchemaCompiler::string_seq(const std::string & s,
                                                        const std::string & path) {
    if (g_.syntax == Syntax::json)
        return bytes_of(Json(s).dump(-1, ' ', false, Json::error_handler_t::replace));
    for (const std::string & d : g_.delimiters)
        if (s.find(d) != std::string::npos)
            return invalid(path, "the string \"" + s + "\" contains the control token " + d +
                                     ", which a Gemma tool call cannot carry");
    std::vector<int32_t> out{kQuote};
    for (unsigned char c : s) out.push_back(c);
    out.push_back(kQuote);
    return out;
}

Result<std::vector<int32_t>> SchemaCompiler::key_seq(const std::string & name,
                                                     const std::string & path) {
    if (g_.syntax == Syntax::json) return string_seq(name, path);
    bool bare = !name.empty();
    for (unsigned char c : name) bare = bare && (is_name_byte(c) || c == '$' || c == '@');
    std::vector<int32_t> out;
    if (bare) {
        out = bytes_of(name);
    } else {
        auto q = string_seq(name, path);
        if (!q.ok()) return q.error();
        out = std::move(*q);
    }
    out.push_back(':');
    return out;
}

Result<int32_t> SchemaCompiler::compile_literals(const std::vector<Json> & values,
                                                 const std::string & path) {
    std::vector<std::pair<std::vector<int32_t>, int32_t>> seqs;
    Node n;
    n.kind = Node::Kind::literal;
    for (size_t i = 0; i < values.size(); ++i) {
        const Json & v = values[i];
        std::vector<int32_t> seq;
        if (v.is_string()) {
            auto s = string_seq(v.get<std::string>(), path);
            if (!s.ok()) return s.error();
            seq = std::move(*s);
        } else if (v.is_primitive()) {
            seq = bytes_of(v.dump());
        } else {
            return unsupported(path,
                               "enum / const values must be strings, numbers, booleans or "
                               "null, not objects or arrays");
        }
        n.starts.set(size_t(seq[0]));
        seqs.push_back({std::move(seq), int32_t(i)});
    }
    if (seqs.empty()) return invalid(path, "no enum value fits the schema; nothing can match it");
    n.lits = build_trie(
        seqs, [](int32_t) { return 0; }, false);
    n.min_cost = g_.trie[size_t(n.lits)].min_rest;
    return add(std::move(n));
}

Result<int32_t> SchemaCompiler::make_union(std::vector<int32_t> branches,
                                           const std::string & path) {
    if (branches.size() == 1) return branches[0];
    Node u;
    u.kind = Node::Kind::union_;
    u.min_cost = kInf;
    for (int32_t b : branches) {
        const Node & n = g_.nodes[size_t(b)];
        if ((u.starts & n.starts).any())
            return unsupported(path,
                               "anyOf / oneOf / type-list branches overlap (two can start "
                               "with the same character); use branches of different types");
        u.starts |= n.starts;
        u.min_cost = std::min(u.min_cost, n.min_cost);
    }
    u.branches = std::move(branches);
    return add(std::move(u));
}

Result<int32_t> SchemaCompiler::compile_object(const Json & s, const std::string & path,
                                               int depth) {
    Node n;
    n.kind = Node::Kind::object;
    n.container = true;
    n.starts.set('{');
    auto props = s.find("properties");
    auto addl = s.find("additionalProperties");
    auto req = s.find("required");
    if (props != s.end() && !props->is_object())
        return invalid(path, "'properties' must be an object");
    if (req != s.end() && !req->is_array()) return invalid(path, "'required' must be an array");
    if (addl != s.end() && !addl->is_boolean() && !addl->is_object())
        return invalid(path, "'additionalProperties' must be a boolean or a schema");
    const bool closed = addl != s.end() && addl->is_boolean() && !addl->get<bool>();
    int32_t extra = g_.any;
    if (addl != s.end() && addl->is_object()) {
        auto e = compile(*addl, path + ".additionalProperties", depth + 1);
        if (!e.ok()) return e.error();
        extra = *e;
    }
    std::vector<std::string> required;
    if (req != s.end())
        for (const Json & r : *req) {
            if (!r.is_string()) return invalid(path, "'required' must list property names");
            required.push_back(r.get<std::string>());
        }
    if (props == s.end() && required.empty() && !closed) {
        n.extra = extra;  // free-form keys
        n.min_cost = 2;
        return add(std::move(n));
    }
    if (props != s.end())
        for (const auto & [name, sub] : props->items()) {
            auto c = compile(sub, path + ".properties." + name, depth + 1);
            if (!c.ok()) return c.error();
            n.props.push_back({name, *c, 0, 0});
        }
    for (const std::string & r : required) {
        auto it = std::find_if(n.props.begin(), n.props.end(),
                               [&](const Prop & p) { return p.name == r; });
        if (it == n.props.end()) {
            if (closed)
                return invalid(path, "required property '" + r +
                                         "' is not in 'properties' and additionalProperties is "
                                         "false: no object can match");
            n.props.push_back({r, extra, 0, 0});
            it = n.props.end() - 1;
        }
        n.required |= uint64_t(1) << (it - n.props.begin());
        if (n.props.size() > size_t(kMaxProps)) break;
    }
    if (n.props.size() > size_t(kMaxProps))
        return unsupported(path, gemma::format("more than %d properties", kMaxProps));
    std::vector<std::pair<std::vector<int32_t>, int32_t>> seqs;
    int32_t n_required = 0;
    n.min_cost = 2;
    for (size_t i = 0; i < n.props.size(); ++i) {
        Prop & p = n.props[i];
        auto k = key_seq(p.name, path + ".properties." + p.name);
        if (!k.ok()) return k.error();
        p.key_len = int32_t(k->size());
        p.entry =
            p.key_len + (g_.syntax == Syntax::json ? 1 : 0) + g_.nodes[size_t(p.node)].min_cost;
        seqs.push_back({std::move(*k), int32_t(i)});
        if (n.required >> i & 1) {
            n.min_cost += p.entry + (n_required > 0 ? 1 : 0);
            ++n_required;
        }
    }
    if (!seqs.empty())
        n.keys = build_trie(
            seqs, [](int32_t) { return 0; }, true);
    return add(std::move(n));
}

Result<int32_t> SchemaCompiler::compile_array(const Json & s, const std::string & path, int depth) {
    Node n;
    n.kind = Node::Kind::array;
    n.container = true;
    n.starts.set('[');
    n.items = g_.any;
    if (auto it = s.find("items"); it != s.end()) {
        if (!it->is_object())
            return unsupported(path, "'items' must be one schema (tuple forms are not supported)");
        auto c = compile(*it, path + ".items", depth + 1);
        if (!c.ok()) return c.error();
        n.items = *c;
    }
    n.min_items = int32_t(s.value("minItems", 0));
    n.max_items = s.contains("maxItems") ? int32_t(s.value("maxItems", 0)) : -1;
    if (n.min_items < 0 || (n.max_items >= 0 && n.max_items < n.min_items) || n.min_items > 1000)
        return invalid(path,
                       "minItems / maxItems must satisfy 0 <= minItems <= maxItems, "
                       "minItems <= 1000");
    const int32_t mc = g_.nodes[size_t(n.items)].min_cost;
    n.min_cost = 2 + n.min_items * mc + std::max(0, n.min_items - 1);
    return add(std::move(n));
}

Result<int32_t> SchemaCompiler::compile_typed(const Json & s, const std::string & type,
                                              const std::string & path, int depth) {
    if (type == "object") return compile_object(s, path, depth);
    if (type == "array") return compile_array(s, path, depth);
    if (type == "boolean") return compile_literals({Json(true), Json(false)}, path);
    if (type == "null") return compile_literals({Json(nullptr)}, path);
    Node n;
    if (type == "string") {
        n.kind = Node::Kind::string;
        n.starts.set(g_.syntax == Syntax::json ? size_t('"') : size_t(kQuote));
        n.min_len = int32_t(s.value("minLength", 0));
        n.max_len = s.contains("maxLength") ? int32_t(s.value("maxLength", 0)) : -1;
        if (n.min_len < 0 || (n.max_len >= 0 && n.max_len < n.min_len) || n.min_len > 100000)
            return invalid(path, "minLength / maxLength must satisfy 0 <= minLength <= maxLength");
        n.min_cost = 2 + n.min_len;
        return add(std::move(n));
    }
    if (type == "number" || type == "integer") {
        n.kind = type == "number" ? Node::Kind::number : Node::Kind::integer;
        n.starts.set('-');
        for (char c = '0'; c <= '9'; ++c) n.starts.set(size_t(c));
        n.min_cost = 1;
        GEMMA_TRY(read_bounds(s, path, n));
        return add(std::move(n));
    }
    return invalid(path, "unknown type '" + type + "'");
}

namespace {

// minimum / maximum / exclusiveMinimum / exclusiveMaximum (numbers, or draft-4 booleans).
Status read_bounds(const Json & s, const std::string & path, Node & n) {
    const double inf = std::numeric_limits<double>::infinity();
    n.lo = -inf;
    n.hi = inf;
    for (const char * key : {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"}) {
        auto it = s.find(key);
        if (it == s.end()) continue;
        const std::string_view k(key);
        const bool lower = k == "minimum" || k == "exclusiveMinimum";
        const bool exclusive = k.starts_with("exclusive");
        if (exclusive && it->is_boolean()) {  // draft 4: a flag on minimum / maximum
            (lower ? n.lo_x : n.hi_x) = it->get<bool>();
            continue;
        }
        if (!it->is_number()) return invalid(path, std::string("'") + key + "' must be a number");
        const double v = it->get<double>();
        double & bound = lower ? n.lo : n.hi;
        bool & x = lower ? n.lo_x : n.hi_x;
        const bool tighter =
            lower ? v > bound || (v == bound && exclusive) : v < bound || (v == bound && exclusive);
        if (tighter) {
            bound = v;
            x = exclusive;
        }
        n.bounded = true;
    }
    if (!n.bounded) return Status::success();
    n.min_cost = number_min_cost(n);
    if (n.min_cost >= kBig)
        return invalid(path, "no number satisfies minimum / maximum (with at most 15 digits)");
    return Status::success();
}

// Whether `v` has JSON type `t` and fits the string lengths of `s` (enum filtering).
bool fits(const Json & v, const std::string & t, const Json & s) {
    if (t == "string") {
        if (!v.is_string()) return false;
        const std::string & str = v.get_ref<const std::string &>();
        long n = long(std::count_if(str.begin(), str.end(),
                                    [](unsigned char c) { return (c & 0xC0) != 0x80; }));
        return n >= s.value("minLength", 0L) &&
               (!s.contains("maxLength") || n <= s.value("maxLength", 0L));
    }
    if (t == "integer")
        return v.is_number_integer() ||
               (v.is_number_float() && v.get<double>() == double(int64_t(v.get<double>())));
    if (t == "number") return v.is_number();
    if (t == "boolean") return v.is_boolean();
    if (t == "null") return v.is_null();
    return false;  // object / array enum values are refused anyway
}

}  // namespace

Result<int32_t> SchemaCompiler::compile(const Json & s, const std::string & path, int depth) {
    if (depth > kMaxDepth - 2) return unsupported(path, "the schema nests too deeply");
    if (s.is_boolean()) {
        if (s.get<bool>()) return g_.any;
        return invalid(path, "the schema 'false' matches nothing");
    }
    if (!s.is_object()) return invalid(path, "a schema must be an object");
    GEMMA_TRY(check_keywords(s, path));
    for (const char * key : {"anyOf", "oneOf"}) {
        auto it = s.find(key);
        if (it == s.end()) continue;
        if (!it->is_array() || it->empty())
            return invalid(path, std::string("'") + key + "' must be a non-empty array");
        for (const char * other : {"type", "properties", "items", "enum", "const"})
            if (s.contains(other))
                return unsupported(path, std::string("'") + key + "' next to '" + other + "'");
        std::vector<int32_t> branches;
        for (size_t i = 0; i < it->size(); ++i) {
            auto b = compile((*it)[i], path + "." + key + gemma::format("[%zu]", i), depth + 1);
            if (!b.ok()) return b.error();
            branches.push_back(*b);
        }
        return make_union(std::move(branches), path);
    }
    std::vector<std::string> types;
    if (auto t = s.find("type"); t != s.end()) {
        if (t->is_string()) {
            types.push_back(t->get<std::string>());
        } else if (t->is_array()) {
            for (const Json & x : *t) {
                if (!x.is_string()) return invalid(path, "'type' must list type names");
                types.push_back(x.get<std::string>());
            }
        } else {
            return invalid(path, "'type' must be a string or an array of strings");
        }
    }
    if (s.value("nullable", false)) types.push_back("null");
    if (std::count(types.begin(), types.end(), "number") &&
        std::count(types.begin(), types.end(), "integer"))
        types.erase(std::remove(types.begin(), types.end(), "integer"), types.end());
    std::sort(types.begin(), types.end());
    types.erase(std::unique(types.begin(), types.end()), types.end());
    if (s.contains("enum") || s.contains("const")) {
        std::vector<Json> values;
        if (s.contains("const")) values.push_back(s["const"]);
        if (auto e = s.find("enum"); e != s.end()) {
            if (!e->is_array()) return invalid(path, "'enum' must be an array");
            for (const Json & v : *e) values.push_back(v);
        }
        if (!types.empty())
            values.erase(std::remove_if(values.begin(), values.end(),
                                        [&](const Json & v) {
                                            return std::none_of(types.begin(), types.end(),
                                                                [&](const std::string & t) {
                                                                    return fits(v, t, s);
                                                                });
                                        }),
                         values.end());
        return compile_literals(values, path);
    }
    if (types.empty()) {
        if (s.contains("properties") || s.contains("required") ||
            s.contains("additionalProperties"))
            types.push_back("object");
        else if (s.contains("items") || s.contains("minItems") || s.contains("maxItems"))
            types.push_back("array");
        else if (s.contains("minLength") || s.contains("maxLength"))
            types.push_back("string");
        else
            return g_.any;
    }
    std::vector<int32_t> branches;
    for (const std::string & t : types) {
        auto b = compile_typed(s, t, path, depth);
        if (!b.ok()) return b.error();
        branches.push_back(*b);
    }
    return make_union(std::move(branches), path);
}

}  // namespace gemma::runtime::cg
