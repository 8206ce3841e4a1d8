using System.Net.Sockets;
using System.Text;

namespace VtapCollector.Service;

/// <summary>
/// sd_notify(3) without libsystemd: one datagram per message to the Unix socket systemd names in
/// <c>NOTIFY_SOCKET</c> (an abstract address when it starts with '@'). Outside systemd (no
/// variable) every call does nothing.
/// </summary>
internal sealed class SystemdNotifier : IDisposable
{
    private readonly Socket? _socket;
    private readonly UnixDomainSocketEndPoint? _endPoint;
    private readonly Lock _sendLock = new();

    public SystemdNotifier()
        : this(Environment.GetEnvironmentVariable("NOTIFY_SOCKET"), Environment.GetEnvironmentVariable("WATCHDOG_USEC"), Environment.GetEnvironmentVariable("WATCHDOG_PID"))
    {
    }

    public SystemdNotifier(string? notifySocket, string? watchdogUsec, string? watchdogPid)
    {
        if (!string.IsNullOrEmpty(notifySocket))
        {
            // sd_notify: a leading '@' means the Linux abstract namespace (a leading NUL byte).
            var path = notifySocket[0] == '@' ? "\0" + notifySocket[1..] : notifySocket;
            _endPoint = new UnixDomainSocketEndPoint(path);
            _socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        }

        // sd_watchdog_enabled(3): the watchdog applies to us only if WATCHDOG_PID is unset or is our pid.
        if (long.TryParse(watchdogUsec, out var usec) && usec > 0
            && (string.IsNullOrEmpty(watchdogPid) || watchdogPid == Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture)))
        {
            WatchdogInterval = TimeSpan.FromMicroseconds(usec);
        }
    }

    /// <summary>True when running under systemd with a notify socket.</summary>
    public bool IsEnabled => _socket is not null;

    /// <summary>The service's WatchdogSec, when systemd expects keep-alives.</summary>
    public TimeSpan? WatchdogInterval { get; }

    public void Ready() => Send("READY=1");

    public void Stopping() => Send("STOPPING=1");

    public void Watchdog() => Send("WATCHDOG=1");

    public void Status(string status) => Send("STATUS=" + status.Replace('\n', ' '));

    public void Dispose() => _socket?.Dispose();

    private void Send(string message)
    {
        if (_socket is null || _endPoint is null)
        {
            return;
        }

        lock (_sendLock)
        {
            try
            {
                _socket.SendTo(Encoding.UTF8.GetBytes(message), _endPoint);
            }
            catch (SocketException)
            {
                // systemd gone (shutting down) or the socket not ours to write: nothing to tell.
            }
        }
    }
}
