using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Hive.Features.Containers.Terminal;

/// <summary>
/// A pseudo-terminal's master side, made with <c>posix_openpt</c>/<c>grantpt</c>/<c>unlockpt</c>/<c>ptsname_r</c> (glibc,
/// through P/Invoke): no fork in the host (<c>forkpty</c> would fork a managed process). The child opens
/// <see cref="SlavePath"/> itself, as its controlling terminal (<c>setsid -c</c>); the host never holds the slave, so a
/// read returns end-of-file once every process holding it has gone. The master is close-on-exec: no child inherits it.
/// </summary>
internal sealed partial class Pty : IDisposable
{
    private const int O_RDWR = 2, O_NOCTTY = 0x100, O_CLOEXEC = 0x80000;
    private const ulong TIOCSWINSZ = 0x5414;
    private const short POLLIN = 1;
    private const int EINTR = 4, EIO = 5, EAGAIN = 11;

    private readonly SafeFileHandle _master;

    private Pty(SafeFileHandle master, string slavePath)
    {
        _master = master;
        SlavePath = slavePath;
    }

    /// <summary>The slave's path (<c>/dev/pts/N</c>), which the shell's wrapper opens as its stdin, stdout and stderr.</summary>
    public string SlavePath { get; }

    public static Pty Open(ushort columns, ushort rows)
    {
        var fd = PosixOpenpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (fd < 0) throw new IOException($"posix_openpt failed (errno {Marshal.GetLastPInvokeError()})");
        var master = new SafeFileHandle(fd, ownsHandle: true);
        try
        {
            if (Grantpt(fd) != 0 || Unlockpt(fd) != 0) throw new IOException($"grantpt/unlockpt failed (errno {Marshal.GetLastPInvokeError()})");
            var name = new byte[128];
            if (PtsnameR(fd, name, (nuint)name.Length) != 0) throw new IOException("ptsname_r failed");
            var pty = new Pty(master, System.Text.Encoding.ASCII.GetString(name, 0, Array.IndexOf(name, (byte)0)));
            pty.Resize(columns, rows);
            return pty;
        }
        catch
        {
            master.Dispose();
            throw;
        }
    }

    /// <summary>The terminal's size (TIOCSWINSZ): the kernel sends the shell's foreground group SIGWINCH.</summary>
    public void Resize(ushort columns, ushort rows)
    {
        var size = new WinSize { Rows = rows, Columns = columns };
        while (Ioctl(Fd, TIOCSWINSZ, ref size) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            if (errno != EINTR) throw new IOException($"the terminal could not be resized to {columns}x{rows} (errno {errno})");
        }
    }

    /// <summary>
    /// Waits up to <paramref name="timeoutMs"/> for output: the bytes read, -1 when none came in time, 0 once the terminal
    /// has ended (every holder of the slave gone: EIO).
    /// </summary>
    public int Read(Span<byte> buffer, int timeoutMs)
    {
        while (true)
        {
            var poll = new PollFd { Fd = Fd, Events = POLLIN };
            var ready = Poll(ref poll, 1, timeoutMs);
            if (ready < 0 && Marshal.GetLastPInvokeError() == EINTR) continue;
            if (ready == 0) return -1;
            var n = ReadFd(Fd, ref MemoryMarshal.GetReference(buffer), (nuint)buffer.Length);
            if (n > 0) return (int)n;
            if (n == 0) return 0;
            var errno = Marshal.GetLastPInvokeError();
            if (errno is EINTR or EAGAIN) continue;
            return 0; // EIO: the slave is closed everywhere
        }
    }

    /// <summary>Writes all of <paramref name="data"/> (what the operator typed) to the terminal; false once it has ended.</summary>
    public bool Write(ReadOnlySpan<byte> data)
    {
        while (data.Length > 0)
        {
            var n = WriteFd(Fd, ref MemoryMarshal.GetReference(data), (nuint)data.Length);
            if (n < 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                if (errno is EINTR or EAGAIN) continue;
                return false;
            }
            data = data[(int)n..];
        }
        return true;
    }

    private int Fd => (int)_master.DangerousGetHandle();

    public void Dispose() => _master.Dispose();

    [StructLayout(LayoutKind.Sequential)]
    private struct WinSize
    {
        public ushort Rows, Columns, XPixels, YPixels;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct PollFd
    {
        public int Fd;
        public short Events, Revents;
    }

    [LibraryImport("libc", EntryPoint = "posix_openpt", SetLastError = true)]
    private static partial int PosixOpenpt(int flags);

    [LibraryImport("libc", EntryPoint = "grantpt", SetLastError = true)]
    private static partial int Grantpt(int fd);

    [LibraryImport("libc", EntryPoint = "unlockpt", SetLastError = true)]
    private static partial int Unlockpt(int fd);

    [LibraryImport("libc", EntryPoint = "ptsname_r")]
    private static partial int PtsnameR(int fd, byte[] buffer, nuint length);

    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    private static partial int Ioctl(int fd, ulong request, ref WinSize size);

    [LibraryImport("libc", EntryPoint = "poll", SetLastError = true)]
    private static partial int Poll(ref PollFd fds, nuint count, int timeoutMs);

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    private static partial nint ReadFd(int fd, ref byte buffer, nuint count);

    [LibraryImport("libc", EntryPoint = "write", SetLastError = true)]
    private static partial nint WriteFd(int fd, ref byte buffer, nuint count);
}
