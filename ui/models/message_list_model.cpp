// MessageListModel: rows, roles and the conversions to / from stored messages.
#include "models/message_list_model.h"

#include <QVariantMap>

namespace gemdesk {

MessageItem message_item_from_stored(const storage::StoredMessage & m) {
    MessageItem item;
    item.id = m.id;
    item.role = QString::fromStdString(m.role);
    item.content = QString::fromStdString(m.content);
    item.reasoning = QString::fromStdString(m.reasoning);
    for (const auto & c : m.tool_calls)
        item.toolCalls.append(QVariantMap{{"id", QString::fromStdString(c.id)},
                                          {"name", QString::fromStdString(c.name)},
                                          {"arguments", QString::fromStdString(c.arguments)}});
    item.finishReason = QString::fromStdString(m.finish_reason);
    item.errorText = QString::fromStdString(m.error);
    item.promptTokens = m.prompt_tokens;
    item.completionTokens = m.completion_tokens;
    return item;
}

storage::StoredMessage message_item_to_stored(const MessageItem & m) {
    storage::StoredMessage s;
    s.id = m.id;
    s.role = m.role.toStdString();
    s.content = m.content.toStdString();
    s.reasoning = m.reasoning.toStdString();
    for (const auto & v : m.toolCalls) {
        QVariantMap c = v.toMap();
        s.tool_calls.push_back({c.value("id").toString().toStdString(),
                                c.value("name").toString().toStdString(),
                                c.value("arguments").toString().toStdString()});
    }
    s.finish_reason = m.finishReason.toStdString();
    s.error = m.errorText.toStdString();
    s.prompt_tokens = m.promptTokens;
    s.completion_tokens = m.completionTokens;
    return s;
}

int MessageListModel::rowCount(const QModelIndex & parent) const {
    return parent.isValid() ? 0 : int(m_items.size());
}

QVariant MessageListModel::data(const QModelIndex & index, int role) const {
    if (!index.isValid() || index.row() >= rowCount()) return {};
    const MessageItem & m = m_items[size_t(index.row())];
    switch (role) {
        case RoleRole:
            return m.role;
        case ContentRole:
            return m.content;
        case ReasoningRole:
            return m.reasoning;
        case ToolCallsRole:
            return m.toolCalls;
        case StreamingRole:
            return m.streaming;
        case FinishReasonRole:
            return m.finishReason;
        case ErrorTextRole:
            return m.errorText;
        case PromptTokensRole:
            return m.promptTokens;
        case CompletionTokensRole:
            return m.completionTokens;
        default:
            return {};
    }
}

QHash<int, QByteArray> MessageListModel::roleNames() const {
    return {{RoleRole, "role"},
            {ContentRole, "content"},
            {ReasoningRole, "reasoning"},
            {ToolCallsRole, "toolCalls"},
            {StreamingRole, "streaming"},
            {FinishReasonRole, "finishReason"},
            {ErrorTextRole, "errorText"},
            {PromptTokensRole, "promptTokens"},
            {CompletionTokensRole, "completionTokens"}};
}

void MessageListModel::reset(std::vector<MessageItem> items) {
    beginResetModel();
    m_items = std::move(items);
    endResetModel();
    emit countChanged();
}

int MessageListModel::append(MessageItem item) {
    int row = rowCount();
    beginInsertRows({}, row, row);
    m_items.push_back(std::move(item));
    endInsertRows();
    emit countChanged();
    return row;
}

}  // namespace gemdesk
