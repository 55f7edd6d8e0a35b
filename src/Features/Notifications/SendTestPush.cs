using Hive.Shared.Changes;
using Hive.Shared.Errors;
using MediatR;
using Microsoft.Extensions.Options;

namespace Hive.Features.Notifications;

/// <summary>The dashboard's test-send: one push to one channel now, through the outbox as any other (no quiet delay, no links).</summary>
public static class SendTestPush
{
    public sealed record Command(string Channel) : IRequest<long>, IChangesState;

    internal sealed class Handler(StateChanges changes, NotificationOutbox outbox, NotificationOutboxSignal sender, IOptions<NotificationsOptions> options,
        TimeProvider clock) : IRequestHandler<Command, long>
    {
        public Task<long> Handle(Command command, CancellationToken cancellationToken)
        {
            if (!options.Value.Channels.ContainsKey(command.Channel)) throw new NotFoundException($"no channel named {command.Channel}");
            var now = clock.GetUtcNow();
            var id = outbox.Add(changes.Current, command.Channel,
                new Needs(NotificationKinds.Test, $"test:{now.UtcTicks}", "Hive: a test push", $"Sent from the dashboard at {now:HH:mm:ss} UTC.", []), now, now)
                ?? throw new ConflictException("a test push to this channel is waiting already");
            changes.Current.AfterPublished(sender.Wake);
            return Task.FromResult(id);
        }
    }
}
