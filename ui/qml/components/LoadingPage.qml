// Shown while the model loads: progress bar, current stage, cancel; the error and a retry after,
// and, when new model settings failed, a way back to the settings that loaded before.
import QtQuick
import QtQuick.Controls
import QtQuick.Layouts
import GemDesk

Pane {
    id: page
    required property ModelController loader
    required property SettingsController settings
    signal openSettings()
    readonly property bool loading: loader.state === ModelController.Loading

    ColumnLayout {
        anchors.centerIn: parent
        width: Math.min(parent.width - 48, 520)
        spacing: 14

        Label {
            text: "GemDesk"
            font.pixelSize: 30
            font.bold: true
            Layout.alignment: Qt.AlignHCenter
        }
        Label {
            text: page.loader.modelPath.length > 0 ? qsTr("Model: %1").arg(page.loader.modelPath)
                                                    : qsTr("No model selected")
            elide: Text.ElideMiddle
            Layout.fillWidth: true
            horizontalAlignment: Text.AlignHCenter
        }
        ProgressBar {
            visible: page.loading
            value: page.loader.progress
            Layout.fillWidth: true
        }
        Label {
            visible: page.loading
            text: qsTr("Loading %1 — %2%").arg(page.loader.stage)
                                          .arg(Math.round(page.loader.progress * 100))
            Layout.alignment: Qt.AlignHCenter
        }
        Label {
            objectName: "loadError"
            visible: !page.loading && page.loader.errorString.length > 0
            text: page.loader.errorString
            color: "#b3261e"
            wrapMode: Text.Wrap
            Layout.fillWidth: true
        }
        RowLayout {
            Layout.alignment: Qt.AlignHCenter
            Button {
                visible: page.loading
                text: qsTr("Cancel")
                onClicked: page.loader.cancelLoad()
            }
            Button {
                visible: !page.loading
                text: qsTr("Retry")
                highlighted: true
                onClicked: page.loader.load()
            }
            Button {
                visible: !page.loading
                text: qsTr("Model settings…")
                onClicked: page.openSettings()
            }
            Button {
                objectName: "revertButton"
                visible: !page.loading && page.loader.canRevert
                text: qsTr("Go back to the previous settings")
                onClicked: {
                    page.settings.modelOptions = page.loader.previousOptions
                    page.loader.revert()
                }
            }
        }
    }
}
