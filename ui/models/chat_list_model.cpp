// ChatListModel: rows and roles over ChatStore summaries.
#include "models/chat_list_model.h"

#include <QDateTime>

namespace gemdesk {

int ChatListModel::rowCount(const QModelIndex & parent) const {
    return parent.isValid() ? 0 : int(m_chats.size());
}

QVariant ChatListModel::data(const QModelIndex & index, int role) const {
    if (!index.isValid() || index.row() >= rowCount()) return {};
    const auto & c = m_chats[size_t(index.row())];
    switch (role) {
        case IdRole:
            return qint64(c.id);
        case TitleRole:
            return QString::fromStdString(c.title);
        case UpdatedRole:
            return QDateTime::fromMSecsSinceEpoch(c.updated_at_ms);
        default:
            return {};
    }
}

QHash<int, QByteArray> ChatListModel::roleNames() const {
    return {{IdRole, "chatId"}, {TitleRole, "title"}, {UpdatedRole, "updated"}};
}

void ChatListModel::reset(std::vector<storage::ChatSummary> chats) {
    beginResetModel();
    m_chats = std::move(chats);
    endResetModel();
    emit countChanged();
}

qint64 ChatListModel::idAt(int row) const {
    return row >= 0 && row < rowCount() ? qint64(m_chats[size_t(row)].id) : -1;
}

}  // namespace gemdesk
