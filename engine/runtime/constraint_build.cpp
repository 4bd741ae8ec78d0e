// The grammar builders: response_format (one JSON value) and tool calls (Gemma's call syntax),
// plus the delimiter trie every grammar uses to keep free text clear of control-token texts.
#include <algorithm>

#include "runtime/constraint_compiler.h"

namespace gemma::runtime::cg {

namespace {

void finish_delimiters(Grammar & g) {
    std::vector<std::string> kept;
    for (const std::string & d : g.delimiters)
        if (d.size() >= 2 && d[0] == '<' && d.find('<', 1) == std::string::npos) kept.push_back(d);
    g.delimiters = kept;
    g.delim_trie.assign(1, TrieNode{});
    for (const std::string & d : kept) {
        int32_t at = 0;
        for (unsigned char c : d) {
            auto & next = g.delim_trie[size_t(at)].next;
            auto it =
                std::find_if(next.begin(), next.end(), [&](auto & e) { return e.first == c; });
            if (it != next.end()) {
                at = it->second;
                continue;
            }
            next.push_back({c, int32_t(g.delim_trie.size())});
            at = int32_t(g.delim_trie.size());
            g.delim_trie.emplace_back();
        }
        g.delim_trie[size_t(at)].value = 1;
    }
}

std::shared_ptr<Grammar> new_grammar(const GrammarOptions & o) {
    auto g = std::make_shared<Grammar>();
    g->syntax = o.syntax;
    g->allow_thought = o.allow_thought || o.start_in_thought;
    g->start_in_thought = o.start_in_thought;
    g->delimiters = o.delimiters;
    finish_delimiters(*g);
    return g;
}

}  // namespace

Result<std::shared_ptr<const Grammar>> grammar_for_json(const chat::Json * schema,
                                                        GrammarOptions options) {
    auto g = new_grammar(options);
    SchemaCompiler c(*g);
    c.begin();
    if (!schema || schema->is_null()) {
        g->root = g->nodes[size_t(g->any)].branches[0];  // the free object
        return std::shared_ptr<const Grammar>(g);
    }
    auto root = c.compile(*schema, "$", 0);
    if (!root.ok()) return root.error();
    const Node & r = g->nodes[size_t(*root)];
    if (r.kind != Node::Kind::object && r.kind != Node::Kind::array)
        return make_error(ErrorCode::unsupported,
                          "$: the root of a response_format schema must be an object or an array "
                          "(\"type\": \"object\")");
    g->root = *root;
    return std::shared_ptr<const Grammar>(g);
}

Result<std::shared_ptr<const Grammar>> grammar_for_tools(
    const std::vector<chat::ToolDeclaration> & tools, int max_calls, GrammarOptions options) {
    if (tools.empty())
        return make_error(ErrorCode::invalid_argument,
                          "a tool call was required but no tool is declared");
    options.syntax = Syntax::gemma;
    auto g = new_grammar(options);
    g->max_calls = std::max(1, max_calls);
    SchemaCompiler c(*g);
    c.begin();
    std::vector<std::pair<std::vector<int32_t>, int32_t>> seqs;
    for (const chat::ToolDeclaration & t : tools) {
        const std::string path = "tools[" + t.name + "].parameters";
        bool ok = !t.name.empty();
        for (unsigned char ch : t.name) ok = ok && is_name_byte(ch);
        if (!ok)
            return make_error(ErrorCode::invalid_argument,
                              "tool name '" + t.name +
                                  "' cannot be called in Gemma's call syntax; use letters, digits, "
                                  "'_', '-' and '.'");
        chat::Json params = t.parameters;
        if (params.is_null())
            params = chat::Json{{"type", "object"}, {"properties", chat::Json::object()}};
        auto p = c.compile(params, path, 0);
        if (!p.ok()) return p.error();
        if (g->nodes[size_t(*p)].kind != Node::Kind::object)
            return make_error(ErrorCode::unsupported,
                              path + ": tool parameters must be an object schema");
        std::vector<int32_t> seq = bytes_of("call:" + t.name);
        seqs.push_back({std::move(seq), int32_t(g->tools.size())});
        g->tools.push_back({t.name, *p});
    }
    Grammar & gr = *g;
    g->names = c.build_trie(
        seqs,
        [&gr](int32_t tool) { return gr.nodes[size_t(gr.tools[size_t(tool)].params)].min_cost; },
        false);
    g->min_call_cost = 1 + g->trie[size_t(g->names)].min_rest + 1;
    return std::shared_ptr<const Grammar>(g);
}

}  // namespace gemma::runtime::cg
