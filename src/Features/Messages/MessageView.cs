namespace Hive.Features.Messages;

/// <summary>A message on the wire (socket, HTTP and SSE alike).</summary>
public sealed record MessageView(
    long Id,
    string From,
    string To,
    string Kind,
    string Body,
    DateTimeOffset SentAt,
    DateTimeOffset? DeliveredAt,
    IReadOnlyList<string> FileRefs);

public static class MessageKinds
{
    public const string Message = "message";
}

/// <summary>A <c>messages</c> row as stored; <see cref="View"/> adds what is computed at read time.</summary>
internal sealed record MessageRow(long Id, string Sender, string Recipient, string Kind, string Body, DateTimeOffset SentAt, DateTimeOffset? DeliveredAt)
{
    public const string Columns = "id, sender, recipient, kind, body, sent_at, delivered_at";

    public MessageView View(StateFiles.IFileRefScanner scanner) =>
        new(Id, Sender, Recipient, Kind, Body, SentAt, DeliveredAt, scanner.Scan(Body));
}
