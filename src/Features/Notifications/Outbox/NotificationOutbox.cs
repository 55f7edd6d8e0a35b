using System.Text.Json;
using Hive.Contracts.Json;
using Hive.Shared.Changes;
using MediatR;
using Microsoft.Extensions.Options;

namespace Hive.Features.Notifications;

/// <summary>
/// The outbox, fed inside the change that caused it (<see cref="IChangeWitness"/>): each thing that needs the operator is
/// one pending row per channel that takes its kind, due after the kind's quiet delay (one already pending for that
/// subject is not added again); a decision made in the change skips what was still pending about it. Its one-tap links'
/// tokens are recorded here, as hashes, when <c>Hive:PublicUrl</c> is set. The sender is woken once it commits.
/// </summary>
internal sealed class NotificationOutbox(IOptions<NotificationsOptions> options, PublicUrl publicUrl, ActionTokens tokens, NotificationOutboxSignal sender,
    TimeProvider clock) : IChangeWitness
{
    public void BeforeCommit(StateChange change, IReadOnlyList<INotification> raised)
    {
        // Every change that raised anything comes here (a send included): most concern no push, and a hive without channels none.
        if (options.Value.Channels.Count == 0 || !raised.Any(WhatNotifies.Concerns)) return;
        var (needs, decided) = WhatNotifies.Read(raised);
        foreach (var subject in decided)
            change.Execute("UPDATE notification_items SET state = 'skipped' WHERE subject = @subject AND state = 'pending'", new { subject });
        if (needs.Count == 0) return;

        var now = clock.GetUtcNow();
        var added = false;
        foreach (var need in needs)
        {
            var kind = options.Value.KindOf(need.Kind);
            if (!kind.Enabled) continue;
            foreach (var (channel, settings) in options.Value.Channels)
            {
                if (settings.Kinds.Count > 0 && !settings.Kinds.Contains(need.Kind)) continue;
                added |= Add(change, channel, need, now, now.AddSeconds(kind.DelaySeconds)) is not null;
            }
        }
        if (added) change.AfterPublished(sender.Wake);
    }

    /// <summary>One pending row (and its link tokens); null when one is pending for that channel and subject already.</summary>
    public long? Add(StateChange change, string channel, Needs need, DateTimeOffset now, DateTimeOffset due)
    {
        var actions = publicUrl.IsSet ? need.Actions : [];
        var id = change.QuerySingleOrDefault<long?>("""
            INSERT INTO notification_items (channel, kind, subject, title, body, actions, created_at, due_at)
            SELECT @channel, @Kind, @Subject, @Title, @Body, @actions, @now, @due
            WHERE NOT EXISTS (SELECT 1 FROM notification_items WHERE channel = @channel AND subject = @Subject AND state = 'pending')
            RETURNING id
            """, new { channel, need.Kind, need.Subject, need.Title, need.Body, actions = JsonSerializer.Serialize(actions, HiveJson.Options), now, due });
        if (id is not { } itemId) return null;
        var expires = due.AddMinutes(options.Value.ActionMinutes);
        for (var index = 0; index < actions.Count; index++)
            change.Execute("""
                INSERT INTO action_tokens (token_hash, item_id, subject, action, value, label, expires_at)
                VALUES (@hash, @itemId, @Subject, @Action, @Value, @Label, @expires)
                """, new
            {
                hash = ActionTokens.Hash(tokens.Of(itemId, index)), itemId, need.Subject, actions[index].Action,
                actions[index].Value, actions[index].Label, expires
            });
        return itemId;
    }
}
