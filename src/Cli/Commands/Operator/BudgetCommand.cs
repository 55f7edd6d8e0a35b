using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;

namespace Hive.Cli.Commands.Operator;

/// <summary>
/// <c>budget [AGENT|*]</c>: the spend caps and what was spent against them today and this month (all, or one scope:
/// <c>*</c> is the hive's); with any of <c>--daily-usd</c>, <c>--monthly-usd</c>, <c>--daily-tokens</c>,
/// <c>--monthly-tokens</c> it changes that scope's caps (<c>none</c> clears one; those not given keep their value).
/// </summary>
public static class BudgetCommand
{
    private static readonly string[] Caps = ["daily_usd", "monthly_usd", "daily_tokens", "monthly_tokens"];

    public static void AddTo(RootCommand root)
    {
        var scope = new Argument<string?>("scope") { Description = "an agent, or * for the whole hive (without one: every budget)", Arity = ArgumentArity.ZeroOrOne };
        var options = Caps.Select(cap => new Option<string?>("--" + cap.Replace('_', '-'))
        {
            Description = cap.EndsWith("usd", StringComparison.Ordinal)
                ? $"the {cap.Split('_')[0]} cap in US dollars, or none"
                : $"the {cap.Split('_')[0]} cap in tokens, or none",
        }).ToArray();
        var command = new Command("budget", "spend caps and spend (all, or AGENT or * alone); with --daily-usd and the like, change that scope's caps") { scope };
        foreach (var option in options) command.Options.Add(option);
        command.SetRun(async (cx, ct) =>
        {
            var name = cx.Value(scope);
            var given = Caps.Zip(options).Where(c => cx.Value(c.Second) is not null).ToDictionary(c => c.First, c => Cap(c.First, cx.Value(c.Second)!));
            if (given.Count > 0 && name is null) throw new UsageError("say whose caps to change: budget AGENT --daily-usd N, or budget '*' ... for the hive's");
            using var api = cx.Api();
            var budgets = (await api.GetAsync("/api/governance", ct))?["budgets"] as JsonArray ?? [];
            if (name is null) return new CliOutput(budgets, Table(budgets));
            var current = budgets.FirstOrDefault(b => Text.Str(b, "scope") == name);
            if (current is null)
            {
                await api.GetAsync($"/api/agents/{Uri.EscapeDataString(name)}", ct); // not_found for no such agent
                current = Unlisted(name);
            }
            if (given.Count == 0) return new CliOutput(current.DeepClone(), Table([current.DeepClone()]));

            var body = new JsonObject();
            // The scope's own caps, not those in force: a raise for this period stays a raise.
            var own = current["own"] ?? current;
            foreach (var cap in Caps) body[cap] = given.TryGetValue(cap, out var value) ? value : own[cap]?.DeepClone();
            var path = "/api/governance/budgets/" + (name == "*" ? "*" : Uri.EscapeDataString(name));
            var saved = await api.SendAsync(HttpMethod.Put, path, body, ct) ?? body;
            return new CliOutput(saved, Table([saved.DeepClone()]));
        });
        root.Subcommands.Add(command);
    }

    /// <summary>An option's value on the wire: <c>none</c> is null (no cap), else a number of dollars or tokens.</summary>
    private static JsonNode? Cap(string cap, string text)
    {
        if (text.Equals("none", StringComparison.OrdinalIgnoreCase)) return null;
        var flag = "--" + cap.Replace('_', '-');
        if (cap.EndsWith("usd", StringComparison.Ordinal))
            return decimal.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var usd)
                ? JsonValue.Create(usd)
                : throw new UsageError($"{flag} takes a number of US dollars or none, not {text}");
        return long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var tokens)
            ? JsonValue.Create(tokens)
            : throw new UsageError($"{flag} takes a whole number of tokens or none, not {text}");
    }

    /// <summary>
    /// An agent the hive lists no budget for: no caps set for it (at run time or by name in configuration) and nothing spent
    /// this month, and no configured default for every agent (<c>Hive:Governance:Budgets:Agent</c>: with one, every agent is listed).
    /// </summary>
    private static JsonObject Unlisted(string scope)
    {
        var entry = new JsonObject { ["scope"] = scope };
        foreach (var cap in Caps) entry[cap] = null;
        entry["spent"] = new JsonObject { ["day_usd"] = 0.0, ["month_usd"] = 0.0, ["day_tokens"] = 0, ["month_tokens"] = 0, ["day_unpriced_turns"] = 0 };
        entry["over"] = null;
        return entry;
    }

    internal static string Table(JsonArray budgets) => Text.Table(["SCOPE", "TODAY USD", "MONTH USD", "TODAY TOKENS", "MONTH TOKENS", "OVER"],
        budgets.Select(b =>
        {
            var spent = b?["spent"];
            var unpriced = spent?["day_unpriced_turns"] is JsonValue u && u.TryGetValue<long>(out var n) && n > 0 ? $" (+{n} unpriced)" : "";
            return (IReadOnlyList<string?>)
            [
                Text.Str(b, "scope"),
                Against(spent, "day_usd", b, "daily_usd", Usd) + unpriced,
                Against(spent, "month_usd", b, "monthly_usd", Usd),
                Against(spent, "day_tokens", b, "daily_tokens", Tokens),
                Against(spent, "month_tokens", b, "monthly_tokens", Tokens),
                Text.Str(b, "over"),
            ];
        }));

    /// <summary><c>0.12 / 1.50</c>: spent against the cap (<c>-</c> for none).</summary>
    private static string Against(JsonNode? spent, string spentField, JsonNode? budget, string capField, Func<JsonNode?, string> format) =>
        $"{format(spent?[spentField] ?? 0)} / {(budget?[capField] is { } cap ? format(cap) : "-")}";

    private static string Usd(JsonNode? value) =>
        value is JsonValue v && v.TryGetValue<double>(out var usd) ? usd.ToString("0.00##", CultureInfo.InvariantCulture) : Text.OneLine(value?.ToJsonString() ?? "-");

    private static string Tokens(JsonNode? value) =>
        value is JsonValue v && v.TryGetValue<double>(out var tokens) ? tokens.ToString("#,0", CultureInfo.InvariantCulture) : Text.OneLine(value?.ToJsonString() ?? "-");
}
