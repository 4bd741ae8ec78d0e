// The stored chats for the side panel, newest activity first.
#pragma once

#include <QtQml/qqmlregistration.h>

#include <QAbstractListModel>
#include <vector>

#include "storage/chat_store.h"

namespace gemdesk {

class ChatListModel : public QAbstractListModel {
    Q_OBJECT
    QML_ELEMENT
    QML_UNCREATABLE("owned by ChatController")
    Q_PROPERTY(int count READ rowCount NOTIFY countChanged)
public:
    enum Role { IdRole = Qt::UserRole + 1, TitleRole, UpdatedRole };
    Q_ENUM(Role)

    using QAbstractListModel::QAbstractListModel;
    int rowCount(const QModelIndex & parent = {}) const override;
    QVariant data(const QModelIndex & index, int role) const override;
    QHash<int, QByteArray> roleNames() const override;

    void reset(std::vector<storage::ChatSummary> chats);
    const std::vector<storage::ChatSummary> & chats() const { return m_chats; }
    Q_INVOKABLE qint64 idAt(int row) const;

signals:
    void countChanged();

private:
    std::vector<storage::ChatSummary> m_chats;
};

}  // namespace gemdesk
