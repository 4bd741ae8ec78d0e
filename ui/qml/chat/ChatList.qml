// The side panel: "New chat" and the stored chats (click to reopen, ✕ to delete).
import QtQuick
import QtQuick.Controls
import QtQuick.Layouts
import GemDesk

Pane {
    id: panel
    required property ChatController chat
    padding: 6
    background: Rectangle { color: "#f5f6f8" }

    ColumnLayout {
        anchors.fill: parent
        Button {
            objectName: "newChatButton"
            text: qsTr("+ New chat")
            Layout.fillWidth: true
            onClicked: panel.chat.newChat()
        }
        ListView {
            id: list
            model: panel.chat.chats
            clip: true
            Layout.fillWidth: true
            Layout.fillHeight: true
            ScrollBar.vertical: ScrollBar {}
            delegate: ItemDelegate {
                id: item
                required property var chatId
                required property string title
                required property date updated
                width: list.width
                highlighted: chatId === panel.chat.currentChatId
                onClicked: panel.chat.openChat(chatId)
                contentItem: RowLayout {
                    ColumnLayout {
                        spacing: 0
                        Layout.fillWidth: true
                        Label { text: item.title; elide: Text.ElideRight; Layout.fillWidth: true }
                        Label {
                            text: Qt.formatDateTime(item.updated, "yyyy-MM-dd hh:mm")
                            font.pixelSize: 11
                            opacity: 0.7
                        }
                    }
                    ToolButton {
                        text: "✕"
                        ToolTip.visible: hovered
                        ToolTip.text: qsTr("Delete this chat")
                        onClicked: panel.chat.deleteChat(item.chatId)
                    }
                }
            }
            Label {
                anchors.centerIn: parent
                visible: list.count === 0
                text: qsTr("No saved chats yet")
                color: "#5f6368"
            }
        }
    }
}
