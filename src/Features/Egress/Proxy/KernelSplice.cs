using System.Buffers;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Hive.Features.Egress.Proxy;

/// <summary>
/// One direction of a relayed connection moved by Linux splice(2) through a pipe of its own: the bytes go from one
/// socket's receive queue to the other's send queue as page references and are never copied into this process (a
/// user-space loop copies each byte in and out once more). The waits are the runtime's: for bytes, a zero-byte receive;
/// for room, the runtime has none, so when the destination's send queue is full what the pipe holds is read out and sent
/// by an ordinary send, which waits. Self-contained (only the runtime), so that hivectl's port forwarder compiles it too.
/// </summary>
internal static class KernelSplice
{
    private const uint SpliceMove = 1;
    private const uint SpliceNonBlock = 2;
    private const int GetFileFlags = 3;
    private const int GetPipeSize = 1032;
    private const int NonBlocking = 0x800;
    private const int CloseOnExec = 0x80000;
    private const int Interrupted = 4;
    private const int WouldBlock = 11;

    /// <summary>
    /// Whether both sockets can be spliced: Linux, and both already non-blocking at the OS level (the runtime makes a
    /// socket so once an asynchronous operation has run on it; splice would otherwise block a thread).
    /// </summary>
    public static bool Usable(Socket from, Socket to) => OperatingSystem.IsLinux() && IsNonBlocking(from) && IsNonBlocking(to);

    /// <summary>
    /// Moves at most <paramref name="limit"/> bytes from <paramref name="from"/> to <paramref name="to"/>, calling
    /// <paramref name="moved"/> with each piece as it is taken in. True when <paramref name="from"/> ended (all it sent
    /// has been passed on); false when the limit was reached first. A failure of either socket throws a
    /// <see cref="SocketException"/> (or <see cref="ObjectDisposedException"/> when one was closed meanwhile).
    /// </summary>
    public static async Task<bool> MoveAsync(Socket from, Socket to, long limit, Action<int> moved)
    {
        using var pipe = Pipe.Open();
        byte[]? spill = null;
        try
        {
            while (limit > 0)
            {
                var taken = Splice(from.SafeHandle, pipe.Write, (int)Math.Min(pipe.Capacity, limit));
                if (taken == 0) return true;
                if (taken < 0)
                {
                    await from.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None); // until bytes (or the end) are there
                    continue;
                }
                moved(taken);
                limit -= taken;
                var held = taken;
                while (held > 0)
                {
                    var passed = Splice(pipe.Read, to.SafeHandle, held);
                    if (passed > 0)
                    {
                        held -= passed;
                        continue;
                    }
                    // No room in the send queue: out of the pipe and through the runtime's send, which waits for room.
                    spill ??= ArrayPool<byte>.Shared.Rent(pipe.Capacity);
                    var read = Read(pipe.Read, spill, held);
                    for (var sent = 0; sent < read;) sent += await to.SendAsync(spill.AsMemory(sent, read - sent), SocketFlags.None);
                    held -= read;
                }
            }
            return false;
        }
        finally
        {
            if (spill is not null) ArrayPool<byte>.Shared.Return(spill);
        }
    }

    private static bool IsNonBlocking(Socket socket)
    {
        var flags = Fcntl(socket.SafeHandle, GetFileFlags, 0);
        return flags >= 0 && (flags & NonBlocking) != 0;
    }

    /// <summary>Bytes moved (0: the source ended), or -1 when the source has none yet or the destination no room.</summary>
    private static int Splice(SafeHandle from, SafeHandle to, int bytes)
    {
        while (true)
        {
            var done = SpliceNative(from, IntPtr.Zero, to, IntPtr.Zero, (nuint)bytes, SpliceMove | SpliceNonBlock);
            if (done >= 0) return (int)done;
            var errno = Marshal.GetLastPInvokeError();
            if (errno == WouldBlock) return -1;
            if (errno != Interrupted) throw Failure(errno);
        }
    }

    private static int Read(SafeHandle pipe, byte[] buffer, int bytes)
    {
        while (true)
        {
            var done = ReadNative(pipe, buffer, (nuint)bytes);
            if (done > 0) return (int)done;
            var errno = Marshal.GetLastPInvokeError();
            if (done < 0 && errno == Interrupted) continue;
            throw new InvalidOperationException($"splice: a pipe holding {bytes} bytes gave none (errno {errno})");
        }
    }

    private static SocketException Failure(int errno) => new((int)(errno switch
    {
        104 or 32 => SocketError.ConnectionReset, // ECONNRESET, EPIPE
        9 => SocketError.OperationAborted, // EBADF: closed meanwhile
        _ => SocketError.SocketError,
    }));

    /// <summary>
    /// A non-blocking pipe of the default size (64 KiB): a larger one moves no more per wake-up (each piece is passed on
    /// at once, and the loop runs until a side would wait), and it is charged to the user's pipe pages, past whose soft
    /// limit every new pipe of the user's gets small.
    /// </summary>
    private sealed class Pipe : IDisposable
    {
        private Pipe(SafeFileHandle read, SafeFileHandle write, int capacity)
        {
            Read = read;
            Write = write;
            Capacity = capacity;
        }

        public SafeFileHandle Read { get; }
        public SafeFileHandle Write { get; }
        public int Capacity { get; }

        public static Pipe Open()
        {
            var fds = new int[2];
            if (Pipe2(fds, NonBlocking | CloseOnExec) != 0) throw new SocketException((int)SocketError.TooManyOpenSockets);
            var read = new SafeFileHandle(fds[0], ownsHandle: true);
            var write = new SafeFileHandle(fds[1], ownsHandle: true);
            var capacity = Fcntl(write, GetPipeSize, 0);
            return new Pipe(read, write, capacity > 0 ? capacity : 64 * 1024);
        }

        public void Dispose()
        {
            Read.Dispose();
            Write.Dispose();
        }
    }

    [DllImport("libc", EntryPoint = "splice", SetLastError = true)]
    private static extern nint SpliceNative(SafeHandle from, IntPtr fromOffset, SafeHandle to, IntPtr toOffset, nuint length, uint flags);

    [DllImport("libc", EntryPoint = "read", SetLastError = true)]
    private static extern nint ReadNative(SafeHandle fd, byte[] buffer, nuint count);

    [DllImport("libc", EntryPoint = "pipe2", SetLastError = true)]
    private static extern int Pipe2([Out] int[] fds, int flags);

    [DllImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    private static extern int Fcntl(SafeHandle fd, int command, int argument);
}
