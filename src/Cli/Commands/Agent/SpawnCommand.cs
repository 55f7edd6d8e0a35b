using System.CommandLine;
using System.Text.Json.Nodes;
using Hive.Contracts.Agents;

namespace Hive.Cli.Commands.Agent;

/// <summary><c>spawn</c>: an agent spawns a child under itself (at once within its may_spawn, else an approval for the operator).</summary>
public static class SpawnCommand
{
    public static Command Spawn()
    {
        var name = new Argument<string>("name") { Description = "the child's name (^[a-z][a-z0-9-]{0,30}$)" };
        var argv = new Argument<string[]>("command") { Description = "the program and its arguments, after -- (when no preset)", Arity = ArgumentArity.ZeroOrMore };
        var purpose = new Option<string?>("--purpose") { Description = "what the child is for" };
        var preset = new Option<string?>("--preset") { Description = "a preset the hive knows (e.g. claude-code)" };
        var depth = new Option<long?>("--may-spawn-depth") { Description = "how many levels the child may spawn below it without asking (within yours, one less)" };
        var children = new Option<long?>("--may-spawn-children") { Description = "how many children the child may have alive at once without asking" };
        var budget = new Option<double?>("--budget") { Description = "USD a month the child may spend, carved from your own monthly budget" };
        var command = new Command("spawn",
            "spawn a child agent under you: at once within your may_spawn, else an approval the operator decides: spawn NAME --purpose P (--preset X | -- COMMAND...) [--budget USD]")
            { name, argv, purpose, preset, depth, children, budget };
        command.SetRun(async (cx, ct) =>
        {
            var fields = new JsonObject { ["name"] = cx.Value(name) };
            if (cx.Value(purpose) is { } p) fields["purpose"] = p;
            if (cx.Value(preset) is { } pr) fields["preset"] = pr;
            if (cx.Value(argv) is { Length: > 0 } program) fields["command"] = OptionValues.Array(program);
            if (cx.Value(depth) is not null || cx.Value(children) is not null)
                fields["may_spawn"] = new JsonObject { ["depth"] = cx.Value(depth), ["children"] = cx.Value(children) };
            if (cx.Value(budget) is { } usd) fields["budget"] = usd;
            await using var socket = await cx.ConnectAsync(ct);
            var reply = await socket.CallAsync(HierarchyVerbs.Spawn.Name, fields, ct);
            return new CliOutput(reply, Text.Str(reply, "outcome") == HierarchyVerbs.Spawned
                ? $"{cx.Value(name)} spawned under you"
                : $"spawn of {cx.Value(name)} asked of the operator: approval #{Text.Str(reply, "approval_id")} ({Text.Str(reply, "reason")})");
        });
        return command;
    }
}
