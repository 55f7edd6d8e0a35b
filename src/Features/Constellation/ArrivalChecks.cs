using System.Text;
using Hive.Features.Messages;
using Hive.Shared.Changes;
using Hive.Shared.Constellation;

namespace Hive.Features.Constellation;

/// <summary>
/// What <see cref="ReceiveFromHive"/> checks of an arrival before it is taken in (another hive's word is a claim), and
/// where what fails is kept: the dead letters.
/// </summary>
internal static class ArrivalChecks
{
    /// <summary>A global id is <c>&lt;hive&gt;:&lt;outbox id&gt;</c>: a hive name (at most 31) and a number.</summary>
    private const int MaxGlobalIdLength = 64;

    /// <summary>
    /// Which limit an arrival breaks, else null: a body as a local send's (<see cref="SendMessage.MaxBodyBytes"/>, not
    /// blank), a global id of this shape, a notice naming what it is about (<c>&lt;this hive&gt;:&lt;number&gt;</c>) and an address.
    /// </summary>
    public static string? OverLimit(MailEnvelope envelope, string globalId)
    {
        if (globalId.Length > MaxGlobalIdLength) return $"a global id is at most {MaxGlobalIdLength} characters";
        if (string.IsNullOrWhiteSpace(envelope.Body)) return "the body must not be empty";
        if (Encoding.UTF8.GetByteCount(envelope.Body) > SendMessage.MaxBodyBytes)
            return $"a message's body is limited to {SendMessage.MaxBodyBytes} UTF-8 bytes";
        if (envelope.Kind == MailEnvelope.Undeliverable && (envelope.About is not { Length: <= MaxGlobalIdLength } || HiveAddresses.Parse(envelope.Recipient) is null))
            return "a notice names the global id of the mail it is about and its recipient's address";
        return null;
    }

    /// <summary>
    /// Why an undeliverable notice is not about mail this hive sent that hive (its outbox row, from the notice's
    /// recipient to the notice's address), else null: a hive hears only about its own mail, never a made-up one.
    /// </summary>
    public static string? Unsolicited(StateChange change, string own, string fromHive, MailEnvelope notice)
    {
        var about = notice.About!;
        if (!about.StartsWith(own + ":", StringComparison.Ordinal)
            || !long.TryParse(about.AsSpan(own.Length + 1), System.Globalization.NumberStyles.None, null, out var outboxId))
            return $"it is about {about}, which is not mail of hive {own}";
        var payload = change.QuerySingleOrDefault<string>(
            "SELECT payload FROM constellation_outbox WHERE id = @outboxId AND destination = @fromHive AND kind = @Message",
            new { outboxId, fromHive, MailEnvelope.Message });
        if (payload is null || MailEnvelope.Parse(Encoding.UTF8.GetBytes(payload)) is not { } sent
            || sent.From != notice.To || sent.To != notice.Recipient)
            return $"hive {own} sent no mail {about} from {notice.To} to {notice.Recipient} to hive {fromHive}";
        return null;
    }

    /// <summary>Keeps an arrival that is not taken in, with why (its body up to 64 KiB).</summary>
    public static void DeadLetter(StateChange change, string? globalId, string? userId, string routingKey, byte[] body, string reason, DateTimeOffset now) =>
        change.Execute("""
            INSERT INTO constellation_dead_letters (global_id, user_id, routing_key, reason, body, received_at)
            VALUES (@globalId, @userId, @routingKey, @reason, @body, @now)
            """, new { globalId, userId, routingKey, reason, body = Encoding.UTF8.GetString(body, 0, Math.Min(body.Length, 64 * 1024)), now });
}
