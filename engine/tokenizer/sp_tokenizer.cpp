// SpTokenizer: loads a SentencePiece model, builds the shared Vocab from it, and encodes text
// segment by segment between control tokens.
#include "tokenizer/sp_tokenizer.h"

#include <sentencepiece_processor.h>

#include <set>

#include "tokenizer/utf8.h"

namespace gemma::tok {

SpTokenizer::SpTokenizer(Vocab vocab, SpecialTokens special)
    : Tokenizer(std::move(vocab), std::move(special)) {}

SpTokenizer::~SpTokenizer() = default;

Result<std::unique_ptr<SpTokenizer>> SpTokenizer::open(const std::string & path,
                                                       const SpecialTokenNames & names) {
    auto sp = std::make_unique<sentencepiece::SentencePieceProcessor>();
    const auto status = sp->Load(path);
    if (!status.ok()) {
        const bool missing = status.code() == sentencepiece::util::StatusCode::kNotFound;
        return make_error(
            missing ? ErrorCode::not_found : ErrorCode::corrupt_file,
            format("cannot load SentencePiece model %s: %s%s", path.c_str(),
                   status.ToString().c_str(), missing ? "" : " (truncated or damaged download?)"));
    }
    std::set<std::string, std::less<>> named;
    for (const auto & [name, piece] : names) named.insert(piece);
    for (const auto & [name, piece] : default_special_token_names()) named.insert(piece);
    const int n = sp->GetPieceSize();
    std::vector<std::string> pieces(n);
    std::vector<TokenKind> kinds(n, TokenKind::normal);
    for (int id = 0; id < n; ++id) {
        pieces[id] = sp->IdToPiece(id);
        if (sp->IsByte(id)) {
            kinds[id] = TokenKind::byte;
        } else if (sp->IsControl(id) || sp->IsUnknown(id) || named.count(pieces[id])) {
            kinds[id] = TokenKind::special;
        }
    }
    auto vocab = Vocab::build(std::move(pieces), std::move(kinds));
    if (!vocab) return make_error(vocab.error().code, path + ": " + vocab.error().message);
    SpecialTokens special = SpecialTokens::resolve(names, *vocab);
    std::unique_ptr<SpTokenizer> tok(new SpTokenizer(std::move(*vocab), std::move(special)));
    for (int id = 0; id < n; ++id) {
        if (sp->IsControl(id) || sp->IsUnknown(id)) tok->control_.add(tok->vocab_.piece(id), id);
    }
    tok->sp_ = std::move(sp);
    tok->source_ = path;
    return tok;
}

Result<std::vector<TokenId>> SpTokenizer::encode(std::string_view text,
                                                 EncodeOptions options) const {
    if (!options.parse_special) {
        return make_error(ErrorCode::unsupported,
                          "the tokenizer.model implementation cannot keep special tokens as plain "
                          "text (libsentencepiece always matches them); load tokenizer.json");
    }
    if (const size_t bad = utf8_first_invalid(text); bad != text.size()) {
        return make_error(ErrorCode::invalid_argument,
                          format("text is not valid UTF-8 (byte %zu is 0x%02X); tokenizers take "
                                 "UTF-8 text",
                                 bad, static_cast<uint8_t>(text[bad])));
    }
    std::vector<TextPart> parts;
    control_.split(text, parts);
    std::vector<TokenId> out;
    std::vector<int> ids;
    for (const TextPart & part : parts) {
        if (part.id >= 0) {
            out.push_back(part.id);
            continue;
        }
        const auto status =
            sp_->Encode(absl::string_view(part.text.data(), part.text.size()), &ids);
        if (!status.ok()) {
            return make_error(ErrorCode::internal, format("SentencePiece failed to encode: %s",
                                                          status.ToString().c_str()));
        }
        out.insert(out.end(), ids.begin(), ids.end());
    }
    return out;
}

}  // namespace gemma::tok
