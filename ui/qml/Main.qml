// The GemDesk window: the loading page until the model is ready, then the chat page.
import QtQuick
import QtQuick.Controls
import QtQuick.Layouts
import GemDesk

ApplicationWindow {
    id: window
    required property ModelController loader
    required property SettingsController settings
    required property ServerController server
    required property ChatController chat

    width: 1100
    height: 720
    visible: true
    title: loader.state === ModelController.Ready ? "GemDesk — " + loader.modelName : "GemDesk"

    Loader {
        anchors.fill: parent
        sourceComponent: window.loader.state === ModelController.Ready ? chatPage : loadingPage
    }

    Component {
        id: loadingPage
        LoadingPage {
            loader: window.loader
            settings: window.settings
            onOpenSettings: settingsDialog.open()
        }
    }

    Component {
        id: chatPage
        ChatPage {
            loader: window.loader
            chat: window.chat
            settings: window.settings
            onOpenSettings: settingsDialog.open()
        }
    }

    SettingsDialog {
        id: settingsDialog
        settings: window.settings
        server: window.server
        loader: window.loader
        anchors.centerIn: parent
    }
}
