import QtQuick
import QtQuick.Controls
import QtQuick.Layouts

ApplicationWindow {
    width: 960
    height: 640
    visible: true
    title: "GemDesk"

    ColumnLayout {
        anchors.centerIn: parent
        Label { text: "GemDesk"; font.pixelSize: 28 }
        Label { text: modelPath.length ? "Model: " + modelPath : "No model configured" }
    }
}
