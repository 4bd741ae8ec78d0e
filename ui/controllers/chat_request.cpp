// History -> ChatGenerateRequest, and engine error -> user-facing text.
#include "controllers/chat_request.h"

#include <QObject>
#include <QVariantMap>

namespace gemdesk {

namespace {

gemma::chat::ChatMessage text_message(const std::string & role, const QString & text) {
    gemma::chat::ChatMessage m;
    m.role = role;
    m.content.kind = gemma::chat::MessageContent::Kind::text;
    m.content.text = text.toStdString();
    return m;
}

gemma::chat::ChatMessage assistant_message(const MessageItem & item) {
    gemma::chat::ChatMessage m = text_message("assistant", item.content);
    for (const auto & v : item.toolCalls) {
        QVariantMap c = v.toMap();
        auto args =
            gemma::chat::Json::parse(c.value("arguments").toString().toStdString(), nullptr, false);
        m.tool_calls.push_back({c.value("id").toString().toStdString(),
                                c.value("name").toString().toStdString(),
                                args.is_object() ? args : gemma::chat::Json::object()});
    }
    return m;
}

}  // namespace

gemma::runtime::ChatGenerateRequest make_chat_turn(const std::vector<MessageItem> & history,
                                                   const ChatTurnOptions & opts) {
    gemma::runtime::ChatGenerateRequest req;
    req.sampling.temperature = float(opts.temperature);
    req.sampling.top_p = 0.95f;
    req.sampling.top_k = 64;
    req.max_tokens = opts.maxTokens;
    req.chat.enable_thinking = opts.thinking;
    if (!opts.systemPrompt.trimmed().isEmpty())
        req.chat.messages.push_back(text_message("system", opts.systemPrompt));
    for (const auto & item : history) {
        if (item.role == QLatin1String("user")) {
            req.chat.messages.push_back(text_message("user", item.content));
        } else if (item.role == QLatin1String("assistant")) {
            // A failed reply with nothing in it is not part of the conversation.
            if (item.content.isEmpty() && item.toolCalls.isEmpty()) continue;
            req.chat.messages.push_back(assistant_message(item));
        }
    }
    return req;
}

QString readable_generation_error(const gemma::Error & error) {
    QString detail = QString::fromStdString(error.message);
    switch (error.code) {
        case gemma::ErrorCode::context_full:
            return QObject::tr(
                       "This conversation no longer fits in the model's context. Start a "
                       "new chat to continue. (%1)")
                .arg(detail);
        case gemma::ErrorCode::out_of_memory:
            return QObject::tr(
                       "Out of memory while generating. Close other programs or use a "
                       "smaller context. (%1)")
                .arg(detail);
        case gemma::ErrorCode::device_error:
            return QObject::tr("The compute device failed while generating: %1").arg(detail);
        default:
            return QObject::tr("Generation failed: %1").arg(detail);
    }
}

}  // namespace gemdesk
