// The open chat's messages for QML: one row per user / assistant message, updated in place while
// a reply streams (content and thinking deltas, tool calls, the finish reason or an error).
#pragma once

#include <QtQml/qqmlregistration.h>

#include <QAbstractListModel>
#include <QString>
#include <QVariantList>
#include <vector>

#include "storage/chat_store.h"

namespace gemdesk {

struct MessageItem {
    qint64 id = 0;  // ChatStore id; 0 while not stored
    QString role;   // "user" or "assistant"
    QString content;
    QString reasoning;
    QVariantList toolCalls;  // [{"id","name","arguments"}]
    bool streaming = false;
    QString finishReason;  // stop / length / tool_calls / cancelled / error
    QString errorText;
    int promptTokens = 0;
    int completionTokens = 0;
};

MessageItem message_item_from_stored(const storage::StoredMessage & m);
storage::StoredMessage message_item_to_stored(const MessageItem & m);

class MessageListModel : public QAbstractListModel {
    Q_OBJECT
    QML_ELEMENT
    QML_UNCREATABLE("owned by ChatController")
    Q_PROPERTY(int count READ rowCount NOTIFY countChanged)
public:
    enum Role {
        RoleRole = Qt::UserRole + 1,
        ContentRole,
        ReasoningRole,
        ToolCallsRole,
        StreamingRole,
        FinishReasonRole,
        ErrorTextRole,
        PromptTokensRole,
        CompletionTokensRole,
    };
    Q_ENUM(Role)

    using QAbstractListModel::QAbstractListModel;
    int rowCount(const QModelIndex & parent = {}) const override;
    QVariant data(const QModelIndex & index, int role) const override;
    QHash<int, QByteArray> roleNames() const override;

    const std::vector<MessageItem> & items() const { return m_items; }
    const MessageItem & at(int row) const { return m_items.at(size_t(row)); }
    void reset(std::vector<MessageItem> items);
    int append(MessageItem item);  // returns the new row
    // Edits a row through `fn` and tells views which roles changed.
    template <class Fn>
    void update(int row, const QList<int> & roles, Fn fn) {
        if (row < 0 || row >= rowCount()) return;
        fn(m_items[size_t(row)]);
        emit dataChanged(index(row), index(row), roles);
    }

signals:
    void countChanged();

private:
    std::vector<MessageItem> m_items;
};

}  // namespace gemdesk
