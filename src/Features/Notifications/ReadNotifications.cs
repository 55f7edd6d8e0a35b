using Dapper;
using Hive.Shared.Data;
using MediatR;
using Microsoft.Extensions.Options;

namespace Hive.Features.Notifications;

/// <summary>
/// The channels as the operator sees them (<c>GET /api/notifications</c>): name, type, kinds, whether it is failing (since
/// when, why), its last success, and what waits for it. Never a URL or a secret: a topic's name is its password on ntfy.
/// </summary>
public static class ReadNotifications
{
    public sealed record Query : IRequest<NotificationsView>;

    internal sealed class Handler(IDb db, IOptions<NotificationsOptions> options, ChannelStates states, PublicUrl publicUrl)
        : IRequestHandler<Query, NotificationsView>
    {
        public Task<NotificationsView> Handle(Query query, CancellationToken cancellationToken)
        {
            using var connection = db.Open();
            var waiting = connection.Query<(string Channel, long Count)>(
                "SELECT channel, count(*) FROM notification_items WHERE state IN ('pending', 'queued') GROUP BY channel").ToDictionary(r => r.Channel, r => r.Count);
            var channels = options.Value.Channels.OrderBy(c => c.Key, StringComparer.Ordinal).Select(c =>
            {
                var state = states.Of(c.Key);
                return new ChannelView(c.Key, c.Value.Type, c.Value.Kinds.Count > 0 ? c.Value.Kinds : [.. NotificationKinds.All.Order()],
                    state.Failing, state.FailingSince, state.LastError, state.LastOkAt, waiting.GetValueOrDefault(c.Key));
            }).ToList();
            return Task.FromResult(new NotificationsView(channels, publicUrl.IsSet));
        }
    }
}

public sealed record NotificationsView(IReadOnlyList<ChannelView> Channels, bool ActionLinks);

public sealed record ChannelView(string Name, string Type, IReadOnlyList<string> Kinds, bool Failing, DateTimeOffset? FailingSince, string? LastError,
    DateTimeOffset? LastOkAt, long Waiting);
