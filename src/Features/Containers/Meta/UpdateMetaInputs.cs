using Hive.Contracts.Containers;
using Hive.Shared.Agents;
using Hive.Shared.Changes;
using Hive.Shared.Dashboard;
using Hive.Shared.Errors;
using MediatR;
using Microsoft.Extensions.DependencyInjection;

namespace Hive.Features.Containers;

/// <summary>The meta inputs, the whole list, after they changed (as the seed does: a snapshot beats a diff).</summary>
public sealed record MetaInputsChanged(IReadOnlyList<MetaInput> Inputs) : IDashboardEvent<MetaInputsChangedPayload>
{
    public string EventType => "meta_inputs_changed";
    public MetaInputsChangedPayload Payload => new(Inputs);
}

/// <summary>
/// <c>POST /api/meta/update</c> (hyperhive's meta-update): every input is pinned again (a git repository's <c>HEAD</c>, or a
/// content hash), and when something moved the new pins are committed, <c>meta_inputs_changed</c> goes out, and exactly
/// the agents whose files name a changed input are rebuilt. <c>PUT /api/meta/inputs/{name}</c> adds or re-points one.
/// Inputs are read as <see cref="MetaInputPins"/> says (regular files and directories only, bounded in bytes and time): an
/// input that cannot be pinned is one entry in <c>errors</c>, and the others are pinned all the same.
/// </summary>
public static class UpdateMetaInputs
{
    public sealed record Command(string? AddName = null, string? AddSource = null) : IRequest<Result>;

    /// <param name="Errors">Inputs that could not be pinned (their source is gone, say): they keep their old pin.</param>
    public sealed record Result(IReadOnlyList<MetaInput> Inputs, IReadOnlyList<string> Changed, IReadOnlyList<string> Rebuilt, IReadOnlyList<InputError> Errors);

    public sealed record InputError(string Name, string Error);

    internal sealed class Handler(MetaInputs store, IMediator mediator, StateChanges changes, IServiceScopeFactory scopes)
        : IRequestHandler<Command, Result>
    {
        public async Task<Result> Handle(Command command, CancellationToken cancellationToken)
        {
            var inputs = (await store.ReadInputsAsync()).ToList();
            if (command.AddName is { } addName)
            {
                if (!AgentNames.IsWellFormed(addName)) throw new BadRequestException("an input name matches ^[a-z][a-z0-9-]{0,30}$");
                if (command.AddSource is not { Length: > 0 } source || !Path.IsPathRooted(source) || Path.GetFullPath(source) != source.TrimEnd('/'))
                    throw new BadRequestException("source must be an absolute, canonical path (a local git repository or a file or directory)");
                // Refused at once, not when first read: a device or a FIFO can never be pinned, and a link is not followed.
                if (MetaInputPins.StatusOf(source.TrimEnd('/')) is { } status && MetaInputPins.RefusalOf(source.TrimEnd('/'), status) is { } refusal)
                    throw new BadRequestException(refusal);
                inputs.RemoveAll(i => i.Name == addName);
                inputs.Add(new MetaInput(addName, source.TrimEnd('/'), null));
            }

            var changed = new List<string>();
            var repinned = new List<MetaInput>();
            var errors = new List<InputError>();
            foreach (var input in inputs.OrderBy(i => i.Name, StringComparer.Ordinal))
            {
                string pin;
                try
                {
                    pin = await store.PinOfAsync(input.Source, cancellationToken);
                }
                catch (MetaFileException e) when (input.Name != command.AddName)
                {
                    errors.Add(new InputError(input.Name, e.Message));
                    repinned.Add(input);
                    continue;
                }
                if (pin != input.Pin) changed.Add(input.Name);
                repinned.Add(input with { Pin = pin });
            }
            if (changed.Count == 0 && command.AddName is null) return new Result(repinned, [], [], errors);

            var message = command.AddName is { } added && !changed.Contains(added)
                ? $"meta-update: {added} re-pointed"
                : "meta-update: " + string.Join(", ", changed.Select(n => $"{n} → {Short(repinned.Single(i => i.Name == n).Pin)}"));
            await store.CommitInputsAsync(repinned, message);
            await changes.RunAsync(scopes, (change, _) =>
            {
                change.Raise(new MetaInputsChanged(repinned));
                return Task.CompletedTask;
            }, cancellationToken);

            var rebuilt = new List<string>();
            foreach (var agent in await store.AgentsUsingAsync(changed.ToHashSet(StringComparer.Ordinal)))
                if (await mediator.Send(new RebuildAgent.ForInputs(agent, $"its input changed ({message})"), cancellationToken)) rebuilt.Add(agent);
            return new Result(repinned, changed, rebuilt, errors);
        }

        private static string Short(string? pin) => pin is null ? "none" : pin.StartsWith("sha256:", StringComparison.Ordinal) ? pin[..19] : pin[..Math.Min(12, pin.Length)];
    }
}
