// Settings in three tabs: chat (system prompt for new chats, thinking), model (load options and
// "Apply and reload model", ModelSettings.qml) and the background API server (on/off, port,
// token) with its live status.
import QtQuick
import QtQuick.Controls
import QtQuick.Layouts
import GemDesk

Dialog {
    id: dialog
    required property SettingsController settings
    required property ServerController server
    required property ModelController loader

    title: qsTr("Settings")
    modal: true
    standardButtons: Dialog.Close
    width: 620

    ColumnLayout {
        anchors.fill: parent
        spacing: 10

        TabBar {
            id: tabs
            Layout.fillWidth: true
            TabButton { text: qsTr("Chat") }
            TabButton { objectName: "modelTab"; text: qsTr("Model") }
            TabButton { text: qsTr("API server") }
        }

        StackLayout {
            currentIndex: tabs.currentIndex
            Layout.fillWidth: true

            ColumnLayout {
                spacing: 10
                Label { text: qsTr("System prompt (used for new chats)"); font.bold: true }
                ScrollView {
                    Layout.fillWidth: true
                    Layout.preferredHeight: 110
                    TextArea {
                        objectName: "systemPromptField"
                        text: dialog.settings.systemPrompt
                        placeholderText: qsTr("e.g. You are a concise assistant.")
                        wrapMode: TextArea.Wrap
                        onEditingFinished: dialog.settings.systemPrompt = text
                    }
                }
                Switch {
                    text: qsTr("Let the model think before answering")
                    checked: dialog.settings.thinkingEnabled
                    onToggled: dialog.settings.thinkingEnabled = checked
                }
                Item { Layout.fillHeight: true }
            }

            ModelSettings {
                settings: dialog.settings
                loader: dialog.loader
            }

            ColumnLayout {
                spacing: 10
                Label {
                    text: qsTr("API server (OpenAI-compatible, this computer only)")
                    font.bold: true
                }
                Switch {
                    objectName: "serverSwitch"
                    text: qsTr("Run the API server in the background")
                    checked: dialog.settings.serverEnabled
                    onToggled: dialog.settings.serverEnabled = checked
                }
                GridLayout {
                    columns: 2
                    Layout.fillWidth: true
                    Label { text: qsTr("Port") }
                    SpinBox {
                        from: 1
                        to: 65535
                        editable: true
                        value: dialog.settings.serverPort
                        textFromValue: (v) => String(v)
                        onValueModified: dialog.settings.serverPort = value
                    }
                    Label { text: qsTr("API token") }
                    RowLayout {
                        Layout.fillWidth: true
                        TextField {
                            text: dialog.settings.apiToken
                            placeholderText: qsTr("optional, 8+ characters: clients send it as a Bearer token")
                            echoMode: showToken.checked ? TextInput.Normal : TextInput.Password
                            Layout.fillWidth: true
                            onEditingFinished: dialog.settings.apiToken = text
                        }
                        CheckBox { id: showToken; text: qsTr("Show") }
                    }
                    Label { text: qsTr("Status") }
                    Label {
                        objectName: "serverStatus"
                        text: dialog.server.statusText
                        color: dialog.server.state === ServerController.Failed ? "#b3261e" : "#3c4043"
                        wrapMode: Text.Wrap
                        Layout.fillWidth: true
                    }
                }
                Item { Layout.fillHeight: true }
            }
        }
        Label {
            text: qsTr("Settings file: %1").arg(dialog.settings.fileName)
            color: "#80868b"
            font.pixelSize: 11
            elide: Text.ElideMiddle
            Layout.fillWidth: true
        }
    }
}
