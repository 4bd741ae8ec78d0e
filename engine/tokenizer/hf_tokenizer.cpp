// HfTokenizer: building the vocabulary from tokenizer.json and the encode pipeline.
#include "tokenizer/hf_tokenizer.h"

#include <fstream>
#include <sstream>

#include "tokenizer/utf8.h"

namespace gemma::tok {

namespace {

void replace_all(std::string_view text, std::string_view pattern, std::string_view content,
                 std::string & out) {
    out.clear();
    out.reserve(text.size() + text.size() / 4);
    for (size_t pos = text.find(pattern); pos != std::string_view::npos; pos = text.find(pattern)) {
        out.append(text.substr(0, pos));
        out.append(content);
        text.remove_prefix(pos + pattern.size());
    }
    out.append(text);
}

// One Split step over `text`; empty pieces are dropped, as in HF.
void split_pieces(std::string_view text, const HfSplitStep & step,
                  std::vector<std::string_view> & out) {
    const size_t n = step.pattern.size();
    size_t start = 0;  // start of the piece being built
    for (size_t pos = text.find(step.pattern); pos != std::string_view::npos;
         pos = text.find(step.pattern, pos + n)) {
        switch (step.behavior) {
            case SplitBehavior::removed:
                out.push_back(text.substr(start, pos - start));
                start = pos + n;
                break;
            case SplitBehavior::isolated:
                out.push_back(text.substr(start, pos - start));
                out.push_back(text.substr(pos, n));
                start = pos + n;
                break;
            case SplitBehavior::merged_with_previous:
                out.push_back(text.substr(start, pos + n - start));
                start = pos + n;
                break;
            case SplitBehavior::merged_with_next:
                out.push_back(text.substr(start, pos - start));
                start = pos;
                break;
        }
    }
    out.push_back(text.substr(start));
    std::erase_if(out, [](std::string_view s) { return s.empty(); });
}

Result<std::string> read_file(const std::string & path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        return make_error(ErrorCode::not_found,
                          format("cannot open tokenizer file %s; check the path", path.c_str()));
    }
    std::stringstream buf;
    buf << in.rdbuf();
    return buf.str();
}

// Pieces and kinds by id from the model vocab and the added tokens.
Result<Vocab> build_vocab(const HfSpec & spec, const std::string & source) {
    TokenId max_id = -1;
    for (const auto & [piece, id] : spec.vocab) max_id = std::max(max_id, id);
    for (const auto & a : spec.added) max_id = std::max(max_id, a.id);
    std::vector<std::string> pieces(static_cast<size_t>(max_id + 1));
    std::vector<TokenKind> kinds(pieces.size(), TokenKind::normal);
    for (const auto & [piece, id] : spec.vocab) {
        if (id < 0 || !pieces[id].empty()) {
            return make_error(ErrorCode::corrupt_file,
                              format("%s: vocab id %d of '%s' is negative or used twice",
                                     source.c_str(), id, piece.c_str()));
        }
        pieces[id] = piece;
        if (spec.bpe.byte_fallback && parse_byte_piece(piece) >= 0) kinds[id] = TokenKind::byte;
    }
    for (const auto & a : spec.added) {
        if (a.id < 0 || (!pieces[a.id].empty() && pieces[a.id] != a.content)) {
            return make_error(ErrorCode::corrupt_file,
                              format("%s: added token '%s' has id %d, which the vocab gives to "
                                     "another piece",
                                     source.c_str(), a.content.c_str(), a.id));
        }
        pieces[a.id] = a.content;
        kinds[a.id] = a.special ? TokenKind::special : TokenKind::added;
    }
    return Vocab::build(std::move(pieces), std::move(kinds));
}

}  // namespace

Result<std::unique_ptr<HfTokenizer>> HfTokenizer::open(const std::string & path,
                                                       const SpecialTokenNames & names) {
    auto text = read_file(path);
    if (!text) return text.error();
    auto spec = parse_hf_tokenizer_json(*text, path);
    if (!spec) return spec.error();
    return build(std::move(*spec), names, path);
}

Result<std::unique_ptr<HfTokenizer>> HfTokenizer::build(HfSpec spec,
                                                        const SpecialTokenNames & names,
                                                        std::string source) {
    auto vocab = build_vocab(spec, source);
    if (!vocab) return vocab.error();
    SpecialTokens special = SpecialTokens::resolve(names, *vocab);
    std::unique_ptr<HfTokenizer> tok(new HfTokenizer(std::move(*vocab), std::move(special)));
    tok->source_ = std::move(source);
    tok->normalizer_ = std::move(spec.normalizer);
    tok->pre_tokenizer_ = std::move(spec.pre_tokenizer);
    auto bpe = Bpe::build(tok->vocab_, spec.bpe);
    if (!bpe) {
        return make_error(bpe.error().code, tok->source_ + ": " + bpe.error().message);
    }
    tok->bpe_ = std::move(*bpe);
    std::string content;
    for (const auto & a : spec.added) {
        AddedTokenMatcher * m = tok->raw_;
        content = a.content;
        if (a.normalized) {
            tok->normalize(a.content, content);
            m = tok->normalized_;
        }
        m[0].add(content, a.id);
        if (!a.special) m[1].add(content, a.id);
    }
    return tok;
}

void HfTokenizer::normalize(std::string_view text, std::string & out) const {
    std::string tmp;
    out.assign(text);
    for (const auto & step : normalizer_) {
        if (step.kind == HfNormStep::Kind::prepend) {
            if (!out.empty()) out.insert(0, step.content);
            continue;
        }
        tmp.swap(out);
        replace_all(tmp, step.pattern, step.content, out);
    }
}

Result<std::vector<TokenId>> HfTokenizer::encode(std::string_view text,
                                                 EncodeOptions options) const {
    if (const size_t bad = utf8_first_invalid(text); bad != text.size()) {
        return make_error(ErrorCode::invalid_argument,
                          format("text is not valid UTF-8 (byte %zu is 0x%02X); tokenizers take "
                                 "UTF-8 text",
                                 bad, static_cast<uint8_t>(text[bad])));
    }
    const int which = options.parse_special ? 0 : 1;
    std::vector<TokenId> out;
    out.reserve(text.size() / 3 + 1);
    std::vector<TextPart> parts;
    raw_[which].split(text, parts);
    std::string normalized;
    for (const TextPart & part : parts) {
        if (part.id >= 0) {
            out.push_back(part.id);
            continue;
        }
        normalize(part.text, normalized);
        encode_normalized(normalized, normalized_[which], out);
    }
    return out;
}

void HfTokenizer::encode_normalized(std::string_view text, const AddedTokenMatcher & matcher,
                                    std::vector<TokenId> & out) const {
    if (matcher.empty()) {
        pre_tokenize_and_bpe(text, 0, out);
        return;
    }
    std::vector<TextPart> parts;
    matcher.split(text, parts);
    for (const TextPart & part : parts) {
        if (part.id >= 0) {
            out.push_back(part.id);
        } else {
            pre_tokenize_and_bpe(part.text, 0, out);
        }
    }
}

void HfTokenizer::pre_tokenize_and_bpe(std::string_view text, size_t step,
                                       std::vector<TokenId> & out) const {
    if (text.empty()) return;
    if (step == pre_tokenizer_.size()) {
        bpe_->encode(text, out);
        return;
    }
    std::vector<std::string_view> pieces;
    split_pieces(text, pre_tokenizer_[step], pieces);
    for (std::string_view piece : pieces) pre_tokenize_and_bpe(piece, step + 1, out);
}

}  // namespace gemma::tok
