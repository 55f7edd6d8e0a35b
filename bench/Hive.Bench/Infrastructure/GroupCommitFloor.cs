using System.Buffers.Binary;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Hive.Bench.Modes;
using Hive.Contracts.Json;
using Hive.Features.Messages;
using Hive.Features.Search;
using Microsoft.Data.Sqlite;

namespace Hive.Bench.Infrastructure;

/// <summary>
/// The floor of a durable, acknowledged send on this machine without the host: one thread waits in <c>epoll</c> on
/// every connection, reads each ready request line (<c>{"op":"send","to":..,"body":..}</c>), inserts all the
/// requests of that wake-up into the host's own <c>messages</c> schema (<see cref="RawSqlite"/>'s file, pragmas and
/// migrations) in one transaction, and answers each with its id. No validation, no events, no thread hand-off: the
/// least a send can cost when each acknowledgement waits for a commit. The broker's (b16) is compared with it, and it
/// with the bare echo (<see cref="BareEchoServer"/>): (f16)/(e16) is the part of the echo's rate that storage leaves.
/// On an <see cref="RawSqlite.Indexed"/> database each send is also indexed for search in its transaction (a
/// <c>search_entries</c> row and its FTS5 text, one prepared statement each), the work live transcripts require of the host's
/// send: (f16s), the floor of a durable and searchable send. With a <see cref="FloorIndexer"/> the sends are indexed behind
/// them instead, as the host indexes them: (f16i), the floor of sends that go on while search keeps up.
/// </summary>
internal sealed class GroupCommitFloor : IDisposable
{
    private const int EpollIn = 0x001, EpollCtlAdd = 1, EpollCtlDel = 2, MaxEvents = 64;

    // struct epoll_event is packed on x86-64 (12 bytes, data at 4) and naturally aligned elsewhere (16, data at 8).
    private static readonly int EventSize = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 12 : 16;
    private static readonly int DataOffset = EventSize == 12 ? 4 : 8;

    [DllImport("libc", SetLastError = true)] private static extern int epoll_create1(int flags);
    [DllImport("libc", SetLastError = true)] private static extern unsafe int epoll_ctl(int epfd, int op, int fd, byte* ev);
    [DllImport("libc", SetLastError = true)] private static extern unsafe int epoll_wait(int epfd, byte* events, int max, int timeout);
    [DllImport("libc", SetLastError = true)] private static extern int close(int fd);

    private readonly RawSqlite _storage;
    private readonly FloorIndexer? _behind;
    private readonly object _writeLock;
    private readonly Socket _listener;
    private readonly int _epoll;
    private readonly Thread _loop;
    private readonly Dictionary<int, Connection> _connections = [];
    private volatile bool _stopping;
    private Exception? _failure;

    /// <param name="behind">Indexes the sends behind them; without it an indexed database's sends are indexed in their transactions.</param>
    public GroupCommitFloor(string socketPath, RawSqlite storage, FloorIndexer? behind = null)
    {
        Path = socketPath;
        _storage = storage;
        _behind = behind;
        _writeLock = behind?.WriteLock ?? new object();
        _listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        _listener.Bind(new UnixDomainSocketEndPoint(socketPath));
        _listener.Listen(64);
        _listener.Blocking = false;
        _epoll = epoll_create1(0);
        if (_epoll < 0) throw new IOException($"epoll_create1 failed: errno {Marshal.GetLastPInvokeError()}");
        Watch(Fd(_listener));
        _loop = new Thread(Loop) { IsBackground = true, Name = "floor loop" };
        _loop.Start();
    }

    public string Path { get; }

    /// <summary>Transactions committed and rows in them, for the average batch.</summary>
    public long Commits { get; private set; }
    public long Rows { get; private set; }

    private static int Fd(Socket socket) => (int)socket.SafeHandle.DangerousGetHandle();

    private unsafe void Watch(int fd)
    {
        var ev = stackalloc byte[16];
        BinaryPrimitives.WriteUInt32LittleEndian(new Span<byte>(ev, 4), EpollIn);
        BinaryPrimitives.WriteInt64LittleEndian(new Span<byte>(ev + DataOffset, 8), fd);
        if (epoll_ctl(_epoll, EpollCtlAdd, fd, ev) < 0) throw new IOException($"epoll_ctl failed: errno {Marshal.GetLastPInvokeError()}");
    }

    private sealed class Connection(Socket socket)
    {
        public Socket Socket { get; } = socket;
        public byte[] Buffer { get; } = new byte[64 * 1024];
        public int Length { get; set; }
    }

    private readonly record struct Request(Connection From, string To, string Body);

    private unsafe void Loop()
    {
        try
        {
            var connection = _storage.Connection;
            using var insert = connection.CreateCommand();
            insert.CommandText = """
                INSERT INTO messages (sender, recipient, kind, body, sent_at)
                VALUES ($sender, $recipient, $kind, $body, $sent_at);
                """;
            var sender = insert.Parameters.Add("$sender", SqliteType.Text);
            var recipient = insert.Parameters.Add("$recipient", SqliteType.Text);
            var kind = insert.Parameters.Add("$kind", SqliteType.Text);
            var body = insert.Parameters.Add("$body", SqliteType.Text);
            var sentAt = insert.Parameters.Add("$sent_at", SqliteType.Text);
            sender.Value = "floor";
            kind.Value = MessageKinds.Message;
            using var entry = connection.CreateCommand();
            // The host's statements (MessageWriter, SearchIndex): no RETURNING, the new ids are the connection's last rowid.
            entry.CommandText = SearchIndex.AddEntrySql;
            entry.Parameters.AddWithValue("$kind", "message");
            entry.Parameters.AddWithValue("$sender", "floor");
            var entryRef = entry.Parameters.Add("$ref", SqliteType.Integer);
            var entryRecipient = entry.Parameters.Add("$recipient", SqliteType.Text);
            var entryAt = entry.Parameters.Add("$at", SqliteType.Text);
            using var text = connection.CreateCommand();
            text.CommandText = SearchIndex.AddTextSql;
            var textBody = text.Parameters.Add("$text", SqliteType.Text);

            var events = new byte[MaxEvents * EventSize];
            var requests = new List<Request>(MaxEvents);
            var reply = new byte[64];
            while (!_stopping)
            {
                int ready;
                fixed (byte* e = events) ready = epoll_wait(_epoll, e, MaxEvents, 100);
                for (var i = 0; i < ready; i++)
                {
                    var fd = (int)BinaryPrimitives.ReadInt64LittleEndian(events.AsSpan(i * EventSize + DataOffset, 8));
                    if (fd == Fd(_listener)) Accept();
                    else Read(fd, requests);
                }
                if (requests.Count == 0) continue;

                var ids = new long[requests.Count];
                lock (_writeLock)
                {
                    using var transaction = connection.BeginTransaction();
                    insert.Transaction = transaction;
                    sentAt.Value = UtcTimestamp.Format(DateTimeOffset.UtcNow);
                    for (var i = 0; i < requests.Count; i++)
                    {
                        recipient.Value = requests[i].To;
                        body.Value = requests[i].Body;
                        insert.ExecuteNonQuery();
                        ids[i] = SQLitePCL.raw.sqlite3_last_insert_rowid(connection.Handle);
                        if (!_storage.Indexed || _behind is not null) continue;
                        entry.Transaction = text.Transaction = transaction;
                        (entryRef.Value, entryRecipient.Value, entryAt.Value) = (ids[i], requests[i].To, sentAt.Value);
                        entry.ExecuteNonQuery();
                        textBody.Value = requests[i].Body;
                        text.ExecuteNonQuery();
                    }
                    transaction.Commit();
                }
                _behind?.Wake(requests.Count);
                for (var i = 0; i < requests.Count; i++)
                {
                    var length = Encoding.UTF8.GetBytes($"{{\"ok\":true,\"id\":{ids[i]}}}\n", reply);
                    requests[i].From.Socket.Send(reply.AsSpan(0, length), SocketFlags.None, out _);
                }
                Commits++;
                Rows += requests.Count;
                requests.Clear();
            }
        }
        catch (Exception e)
        {
            _failure = e;
        }
    }

    private void Accept()
    {
        while (true)
        {
            Socket accepted;
            try { accepted = _listener.Accept(); }
            catch (SocketException) { return; } // EAGAIN: none left
            accepted.Blocking = false;
            _connections[Fd(accepted)] = new Connection(accepted);
            Watch(Fd(accepted));
        }
    }

    /// <summary>Reads what the connection has and queues each whole line in it (level-triggered: the rest comes next wake-up).</summary>
    private unsafe void Read(int fd, List<Request> requests)
    {
        var connection = _connections[fd];
        var read = connection.Socket.Receive(connection.Buffer.AsSpan(connection.Length), SocketFlags.None, out var error);
        if (error == SocketError.WouldBlock) return;
        if (read <= 0)
        {
            var ev = stackalloc byte[16];
            epoll_ctl(_epoll, EpollCtlDel, fd, ev);
            _connections.Remove(fd);
            connection.Socket.Dispose();
            return;
        }
        connection.Length += read;
        var start = 0;
        int newline;
        while ((newline = Array.IndexOf(connection.Buffer, (byte)'\n', start, connection.Length - start)) >= 0)
        {
            using (var line = JsonDocument.Parse(connection.Buffer.AsMemory(start, newline - start)))
            {
                var root = line.RootElement;
                requests.Add(new Request(connection, root.GetProperty("to").GetString()!, root.GetProperty("body").GetString()!));
            }
            start = newline + 1;
        }
        connection.Length -= start;
        connection.Buffer.AsSpan(start, connection.Length).CopyTo(connection.Buffer);
    }

    public void Dispose()
    {
        _stopping = true;
        _loop.Join();
        foreach (var connection in _connections.Values) connection.Socket.Dispose();
        _listener.Dispose();
        close(_epoll);
        File.Delete(Path);
        if (_failure is not null) throw new InvalidOperationException("the floor server failed", _failure);
    }
}
