using Hive.Features.Containers.Presets;
using MediatR;

namespace Hive.Features.Containers;

/// <summary>
/// A preset given as its file's text, expanded for an agent as creating it would (its command, env and mounts), without
/// creating anything: a replay of a turn tried with a changed preset runs what this gives.
/// </summary>
public static class ExpandPreset
{
    public sealed record Query(string PresetName, string Text, string Agent, string? Purpose, IReadOnlyList<string>? Mounts) : IRequest<Result>;

    public sealed record Result(IReadOnlyList<string> Command, IReadOnlyDictionary<string, string> Env, IReadOnlyList<string> Mounts);

    internal sealed class Handler(AgentPresets presets) : IRequestHandler<Query, Result>
    {
        public Task<Result> Handle(Query query, CancellationToken cancellationToken)
        {
            var expanded = presets.Expand(query.PresetName, query.Text, query.Agent, query.Purpose, null, null, query.Mounts, null);
            return Task.FromResult(new Result(expanded.Command, expanded.Env, expanded.Mounts));
        }
    }
}
