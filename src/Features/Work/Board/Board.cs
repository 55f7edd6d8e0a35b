using System.Threading.Channels;
using Hive.Shared.Changes;
using MediatR;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Hive.Features.Work;

/// <summary>
/// Runs dispatch (<see cref="Dispatch"/>) whenever something may have freed room or made work (a move, a claim given up, a
/// new ticket, an agent up or let go by the governor), and every <c>SweepSeconds</c> besides (offers that ran out). Pokes
/// while a round runs make one more round, never a queue.
/// </summary>
internal sealed class Board(IServiceScopeFactory scopes, IOptions<WorkOptions> options, TimeProvider clock, ILogger<Board> logger) : BackgroundService
{
    private readonly Channel<bool> _poked = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private long _rounds;

    /// <summary>Dispatch rounds finished since start-up (tests and the bench wait on it).</summary>
    public long Rounds => Interlocked.Read(ref _rounds);

    public void Poke() => _poked.Writer.TryWrite(true);

    /// <summary>
    /// Before the host serves anything (hosted services start before Kestrel listens): the shipped workflows are copied
    /// into the meta repo where missing and the workflows loaded, so no request sees a board without them and the
    /// start-up's meta commit never races one a caller makes.
    /// </summary>
    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        await using (var scope = scopes.CreateAsyncScope())
        {
            var mediator = scope.ServiceProvider.GetRequiredService<IMediator>();
            try
            {
                await ShipWorkflows.SendAsync(mediator, cancellationToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogWarning("work: the shipped workflows could not be written to the meta repo ({Why}); they run from the hive itself", e.Message);
            }
            await mediator.Send(new LoadWorkflows.Command(), cancellationToken);
        }
        await base.StartAsync(cancellationToken);
    }

    /// <summary>
    /// Whether a round has anything to look at: a ticket not done, or an offer standing. Without one (a hive with no work
    /// yet, a fleet of agents starting), a poke costs a read, not a change. Whatever makes one pokes the board after it
    /// commits, so the round it needs sees it.
    /// </summary>
    private static bool AnyTicketToDispatch(IServiceProvider services)
    {
        using var connection = services.GetRequiredService<Hive.Shared.Data.IDb>().Open();
        return Dapper.SqlMapper.ExecuteScalar<bool>(connection, """
            SELECT EXISTS (SELECT 1 FROM tickets WHERE offered_to IS NOT NULL OR (workflow || '/' || phase) NOT IN (SELECT value FROM json_each(@terminal)))
            """, new { terminal = services.GetRequiredService<TicketFacts>().TerminalPhases() });
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await Task.Yield();
        try
        {
            var sweep = TimeSpan.FromSeconds(options.Value.SweepSeconds);
            while (!stoppingToken.IsCancellationRequested)
            {
                try
                {
                    await using var scope = scopes.CreateAsyncScope();
                    if (AnyTicketToDispatch(scope.ServiceProvider))
                        await scope.ServiceProvider.GetRequiredService<IMediator>().Send(new Dispatch.Command(), stoppingToken);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    logger.LogWarning(e, "work: a dispatch round failed; the next poke or sweep tries again");
                }
                Interlocked.Increment(ref _rounds);
                using var timeout = new CancellationTokenSource(sweep, clock);
                using var either = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken, timeout.Token);
                try
                {
                    await _poked.Reader.ReadAsync(either.Token);
                }
                catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
                {
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}

/// <summary>
/// What may give the board an idle agent: an agent's row changed (started, its capabilities edited), or the governor let
/// an agent or the hive go. Each only pokes the board; the round decides.
/// </summary>
internal sealed class PokeBoardWhenAgentsChange(Board board) :
    INotificationHandler<Hive.Shared.Agents.AgentRowChanged>,
    INotificationHandler<Hive.Features.Governance.AgentResumed>,
    INotificationHandler<Hive.Features.Governance.HiveResumed>
{
    public Task Handle(Hive.Shared.Agents.AgentRowChanged notification, CancellationToken cancellationToken) => Poke();

    public Task Handle(Hive.Features.Governance.AgentResumed notification, CancellationToken cancellationToken) => Poke();

    public Task Handle(Hive.Features.Governance.HiveResumed notification, CancellationToken cancellationToken) => Poke();

    private Task Poke()
    {
        board.Poke();
        return Task.CompletedTask;
    }
}
