using System.Text.Json;
using System.Text.Json.Nodes;
using Hive.Contracts.Agents;
using Hive.Contracts.Json;
using MediatR;

namespace Hive.Features.Containers.Templates;

/// <summary>
/// <c>POST /api/templates/diff</c>: how the live agents drifted from a template (imported with the same prefix): each of
/// its agents <c>missing</c> here, <c>same</c>, or <c>drifted</c> with the fields whose live value differs from what an
/// import would make now, compared as the rows hold them.
/// </summary>
public static class DiffTemplate
{
    public sealed record Query(IReadOnlyDictionary<string, string>? Files, string? Prefix) : IRequest<TemplateDiffReply>;

    internal sealed class Handler(TemplatePlan plan, AgentRegistry registry) : IRequestHandler<Query, TemplateDiffReply>
    {
        public async Task<TemplateDiffReply> Handle(Query query, CancellationToken cancellationToken)
        {
            var manifest = TemplateBundle.Verify(query.Files);
            var agents = await plan.ResolveAsync(query.Files!, query.Prefix, importing: false, cancellationToken);
            var drifts = agents.Select(agent => registry.Find(agent.Name) is { } live
                ? Compare(agent, live)
                : new TemplateDrift(agent.Name, "missing", [])).ToList();
            return new TemplateDiffReply(manifest.Name, manifest.Hash, drifts);
        }

        private static TemplateDrift Compare(TemplatedAgent agent, AgentRecord live)
        {
            var wanted = JsonSerializer.SerializeToNode(agent.Config, HiveJson.Options)!.AsObject();
            var have = JsonSerializer.SerializeToNode(live.ToConfig(), HiveJson.Options)!.AsObject();
            var fields = wanted.Select(p => p.Key).Union(have.Select(p => p.Key)).Order(StringComparer.Ordinal)
                .Select(field => (field, template: Text(wanted[field]), live: Text(have[field])))
                .Where(f => f.template != f.live)
                .Select(f => new FieldDrift(f.field, f.template, f.live)).ToList();
            if (agent.Preset != live.Preset) fields.Add(new FieldDrift("preset", agent.Preset, live.Preset));
            return new TemplateDrift(agent.Name, fields.Count == 0 ? "same" : "drifted", fields);
        }

        private static string? Text(JsonNode? value) => value?.ToJsonString();
    }
}
