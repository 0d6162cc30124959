#pragma once

// DeviceListModel: the devices the dashboard has heard of, one row each, with what is known of
// them: online / offline (from the retained <id>/status and its Last Will), stale (no telemetry
// for three of its telemetry intervals), or no status (telemetry but never a status: a lesson
// device). Fed by DeviceHub, whose known devices it lists (a row appears with deviceAdmitted and
// goes with deviceForgotten); no MQTT of its own. GUI thread.

#include "protocol.h"

#include <QAbstractListModel>
#include <QColor>
#include <QHash>
#include <QIcon>
#include <QList>
#include <QLocale>
#include <QString>
#include <QTimer>

#include <array>
#include <functional>
#include <optional>

namespace nightlight {

class DeviceHub;

class DeviceListModel : public QAbstractListModel
{
    Q_OBJECT

public:
    enum class Status {
        Unknown, // heard of (e.g. only a state), nothing else yet
        Online,
        Offline,
        Stale, // online or lesson device, but telemetry overdue
        NoStatus, // telemetry, never a status: a lesson device
        Shared, // two devices use this id: their states alternate (#9)
    };
    Q_ENUM(Status)

    enum Role {
        DeviceIdRole = Qt::UserRole + 1,
        StatusRole, // Status as int
        StatusTextRole, // translated status text
        LastLightRole, // double, invalid QVariant if none
        LastTelemetryRole, // receive time, ms since the epoch; invalid if none
        IntervalRole, // estimated telemetry interval, ms
        HasStateRole, // bool: the device has published <id>/state
    };

    // Telemetry interval assumed until two samples have been seen.
    static constexpr qint64 DefaultIntervalMs = 5000;
    // Stale after this many intervals without telemetry.
    static constexpr int StaleIntervals = 3;
    // How long a device counts as shared after its states last switched back to an earlier
    // instance token.
    static constexpr qint64 SharedHoldMs = 10 * 60 * 1000;

    explicit DeviceListModel(QObject *parent = nullptr);
    ~DeviceListModel() override;

    // Connects the hub's typed signals to the note*() slots below, deviceAdmitted to addDevice()
    // and deviceForgotten to removeDevice().
    void attach(DeviceHub *hub);

    int rowCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;

    int rowOf(const QString &deviceId) const; // -1 if unknown; O(1)
    QString deviceIdAt(int row) const;
    QStringList deviceIds() const;
    std::optional<Status> status(const QString &deviceId) const;
    // Estimated telemetry interval (ms): median of the last gaps, DefaultIntervalMs without any.
    qint64 interval(const QString &deviceId) const;

    static QString statusText(Status status);
    static QColor statusColor(Status status);

    // How many devices have each status, kept as statuses change (O(1)).
    int count(Status status) const;
    // For the list's header: "998 online · 2 offline · 0 stale", then lesson devices, shared ids
    // and unknown ones when there are any; numbers in `locale`.
    QString countsText(const QLocale &locale) const;

    // The clock used for staleness (ms since the epoch); tests may replace it.
    void setClock(std::function<qint64()> clock);
    // How often staleness is re-evaluated; default 1000 ms.
    void setRefreshInterval(int ms);

public slots:
    void noteTelemetry(const QString &deviceId, const nightlight::Telemetry &t, qint64 receivedMs);
    void noteStatus(const QString &deviceId, nightlight::Availability availability);
    void noteState(const QString &deviceId, const QString &instance);
    // Makes sure a row exists (e.g. for --id before anything arrived).
    void addDevice(const QString &deviceId);
    // Removes the device's row, if any (Forget Device); deviceRemoved follows.
    void removeDevice(const QString &deviceId);
    // The same for many, with one removal per run of neighbouring rows.
    void removeDevices(const QStringList &deviceIds);
    // Re-evaluates staleness now.
    void refresh();

signals:
    void deviceAdded(const QString &deviceId);
    void deviceRemoved(const QString &deviceId);
    void statusChanged(const QString &deviceId, nightlight::DeviceListModel::Status status);
    // count() changed (a row added or removed, a status changed); once per refresh().
    void countsChanged();

private:
    struct Device
    {
        QString id;
        std::optional<Availability> availability;
        bool hasState = false;
        std::optional<double> lastLight;
        std::optional<qint64> lastTelemetryMs;
        QList<qint64> gaps; // the last few telemetry gaps, ms
        Status status = Status::Unknown;
        // The instance tokens of its last two distinct starts, and until when it counts as
        // shared after the older one came back.
        QString instance;
        QString previousInstance;
        std::optional<qint64> sharedUntilMs;
    };

    int ensureRow(const QString &deviceId);
    Status computeStatus(const Device &d, qint64 now) const;
    static qint64 intervalOf(const Device &d);
    void update(int row);
    // Moves one device from one status's count to another's.
    void recount(Status from, Status to);
    // One icon per status, drawn once: the view asks for every visible row at each repaint.
    QIcon dotIcon(Status status) const;

    QList<Device> m_devices;
    std::array<int, 6> m_counts{}; // devices per Status
    QHash<QString, int> m_rows; // id -> row: telemetry of 5,000 devices looks its row up each time
    mutable QHash<int, QIcon> m_icons;
    std::function<qint64()> m_clock;
    QTimer m_refreshTimer;
};

} // namespace nightlight
