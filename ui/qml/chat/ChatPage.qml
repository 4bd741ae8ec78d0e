// The main screen: chat list on the left; on the right the open chat's messages, banners for
// errors and a model reload in progress, and the composer with send / stop and the thinking toggle.
import QtQuick
import QtQuick.Controls
import QtQuick.Layouts
import GemDesk

Page {
    id: page
    required property ModelController loader
    required property ChatController chat
    required property SettingsController settings
    signal openSettings()

    header: ToolBar {
        RowLayout {
            anchors.fill: parent
            anchors.leftMargin: 8
            anchors.rightMargin: 8
            Label {
                text: page.chat.currentTitle.length > 0 ? page.chat.currentTitle : qsTr("New chat")
                font.bold: true
                elide: Text.ElideRight
                Layout.fillWidth: true
            }
            Label {
                text: qsTr("%1 · %2 · %3 · KV %4 · %5 tokens").arg(page.loader.modelName)
                          .arg(page.loader.backend).arg(page.loader.options.weights)
                          .arg(page.loader.options.kvCache).arg(page.loader.contextLength)
                color: "#5f6368"
            }
            Switch {
                objectName: "thinkingSwitch"
                text: qsTr("Thinking")
                checked: page.settings.thinkingEnabled
                onToggled: page.settings.thinkingEnabled = checked
            }
            ToolButton {
                text: qsTr("Settings")
                onClicked: page.openSettings()
            }
        }
    }

    RowLayout {
        anchors.fill: parent
        spacing: 0

        ChatList {
            chat: page.chat
            Layout.preferredWidth: 250
            Layout.fillHeight: true
        }

        ColumnLayout {
            Layout.fillWidth: true
            Layout.fillHeight: true
            spacing: 0

            Banner {
                text: page.chat.storageError.length > 0
                      ? qsTr("Chat history is not saved: %1").arg(page.chat.storageError) : ""
                Layout.fillWidth: true
            }
            Banner {
                objectName: "reloadBanner"
                text: page.loader.reloading
                      ? qsTr("Loading the model with the new settings (%1, %2%); chats keep using the current one.")
                            .arg(page.loader.stage).arg(Math.round(page.loader.progress * 100))
                      : ""
                color: "#e8f0fe"
                textColor: "#174ea6"
                Layout.fillWidth: true
            }
            Banner {
                objectName: "reloadErrorBanner"
                text: page.loader.reloadError
                closable: true
                onClosed: page.loader.dismissReloadError()
                Layout.fillWidth: true
            }
            Banner {
                objectName: "errorBanner"
                text: page.chat.lastError
                closable: true
                onClosed: page.chat.clearError()
                Layout.fillWidth: true
            }

            ListView {
                id: messageView
                objectName: "messageView"
                model: page.chat.messages
                clip: true
                spacing: 10
                topMargin: 12
                bottomMargin: 12
                Layout.fillWidth: true
                Layout.fillHeight: true
                ScrollBar.vertical: ScrollBar {}
                delegate: MessageDelegate { width: messageView.width }
                onCountChanged: Qt.callLater(positionViewAtEnd)
                onContentHeightChanged: if (page.chat.busy && atYEnd === false) Qt.callLater(positionViewAtEnd)

                Label {
                    anchors.centerIn: parent
                    visible: messageView.count === 0
                    text: qsTr("Ask anything. Replies are generated locally by %1.").arg(page.loader.modelName)
                    color: "#5f6368"
                }
            }

            Composer {
                chat: page.chat
                Layout.fillWidth: true
            }
        }
    }
}
