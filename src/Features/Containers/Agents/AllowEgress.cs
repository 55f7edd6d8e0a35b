using FluentValidation;
using Hive.Shared.Egress;
using Hive.Shared.Errors;
using MediatR;

namespace Hive.Features.Containers;

/// <summary>
/// One place added to an agent's <c>egress</c> (the operator answering "allow always"): the operator's own configuration
/// change, so no approval is asked; committed to the agent's file in the meta repo (<c>alice: egress github.com:443
/// allowed by the operator</c>) and set on its row without a restart, since the egress proxy reads the rules at each
/// connection. A rule it has already (as the grammar reads it) changes nothing.
/// </summary>
public static class AllowEgress
{
    public sealed record Command(string Agent, string Rule, string By) : IRequest<Result>;

    /// <param name="Added">False when the agent's egress had the rule already.</param>
    public sealed record Result(string Agent, string Rule, bool Added, IReadOnlyList<string> Egress);

    internal sealed class Validator : AbstractValidator<Command>
    {
        public Validator()
        {
            RuleFor(c => c.Rule).Must(r => EgressRule.TryParse(r, out _) is not null)
                .WithMessage(c => { EgressRule.TryParse(c.Rule, out var problem); return problem!; });
            RuleFor(c => c.By).NotEmpty();
        }
    }

    internal sealed class Handler(AgentRegistry registry, AgentTurns turns, AgentSteps steps, MetaRepo meta) : IRequestHandler<Command, Result>
    {
        public async Task<Result> Handle(Command command, CancellationToken cancellationToken)
        {
            var name = AgentName.Checked(command.Agent);
            steps.Managed(name);
            var rule = EgressRule.TryParse(command.Rule, out _)!;
            if (meta.Unavailable is { } why) throw new ConflictException(why);
            // After a deploy that holds the turn, so the rule is added to the configuration it leaves.
            using var turn = await turns.WaitAsync(name, cancellationToken);
            var record = registry.Find(name) ?? throw new NotFoundException($"no agent named {name}");
            var file = await meta.ReadAgentAsync(name) ?? record.ToConfig();
            var current = file.Egress ?? [];
            if (EgressRule.ParseAll(current).Contains(rule)) return new Result(name, rule.ToString(), false, current);
            if (current.Count >= EgressRule.MaxRules) throw new ConflictException($"{name} has {current.Count} egress rules, the most it may have");

            var config = file with { Driver = file.Driver ?? record.Driver, Egress = [.. current, rule.ToString()] };
            await meta.CommitAgentAsync(name, config, $"{name}: egress {rule} allowed by the {command.By}");
            await steps.ApplyConfigAsync(name, config);
            return new Result(name, rule.ToString(), true, config.Egress!);
        }
    }
}
