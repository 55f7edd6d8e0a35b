using Hive.Shared.Hosting;
using MediatR;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Hive.Features.Questions;

/// <summary>
/// Expires questions past their deadline every <c>Hive:Questions:TickSeconds</c>, the first time at start-up (so a
/// deadline that passed while the host was down is kept at once). The deadline is stored, so nothing is lost on restart.
/// </summary>
public sealed class QuestionExpiry(
    IServiceScopeFactory scopes,
    IOptions<QuestionsOptions> options,
    TimeProvider clock,
    ILogger<QuestionExpiry> logger)
    : PeriodicBackgroundService(scopes, TimeSpan.FromSeconds(options.Value.TickSeconds), clock, logger)
{
    protected override async Task TickAsync(IServiceProvider services, CancellationToken stoppingToken)
    {
        var expired = await services.GetRequiredService<IMediator>().Send(new ExpireQuestions.Command(), stoppingToken);
        if (expired > 0) Logger.LogDebug("question sweep: {Expired} expired", expired);
    }
}
