using System.CommandLine;
using System.ComponentModel;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using Hive.Contracts.Json;
using Hive.Contracts.Protocol;

namespace Hive.Cli;

/// <summary>
/// The options of an agent command that maps one to one onto a socket verb, for the argument fields the command does
/// not handle with options of its own: each becomes <c>--field-name</c> (from the verb's record in the contract, with its
/// description), so a field added to a verb's arguments is on the command line without editing the command. A field
/// holding an object takes JSON text.
/// </summary>
public sealed class VerbOptions
{
    private readonly List<(string Field, Option Option, Type Type)> _options = [];

    private VerbOptions() { }

    /// <summary>Adds to <paramref name="command"/> an option for each field of <paramref name="verb"/>'s arguments not in <paramref name="handled"/> (wire names).</summary>
    public static VerbOptions AddTo(Command command, SocketVerb verb, params string[] handled)
    {
        var options = new VerbOptions();
        foreach (var property in verb.Args.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            var field = HiveJson.Options.PropertyNamingPolicy!.ConvertName(property.Name);
            if (handled.Contains(field)) continue;
            var type = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
            var name = "--" + field.Replace('_', '-');
            var description = property.GetCustomAttribute<DescriptionAttribute>()?.Description ?? field;
            Option option = type == typeof(bool) ? new Option<bool>(name) { Description = description }
                : type == typeof(string) || type == typeof(DateTimeOffset) ? new Option<string?>(name) { Description = description }
                : type == typeof(long) || type == typeof(int) ? new Option<long?>(name) { Description = description }
                : type == typeof(double) ? new Option<double?>(name) { Description = description }
                : IsListOf(type, typeof(string)) ? new Option<string[]>(name) { Description = description + " (repeatable)" }
                : IsListOf(type, typeof(long)) ? new Option<long[]>(name) { Description = description + " (repeatable)" }
                : new Option<string?>(name) { Description = description + " (JSON)" };
            command.Options.Add(option);
            options._options.Add((field, option, type));
        }
        return options;
    }

    /// <summary>Puts the values given on the command line into the request's <paramref name="fields"/>.</summary>
    public void Fill(ParseResult parse, JsonObject fields)
    {
        foreach (var (field, option, type) in _options)
        {
            switch (option)
            {
                case Option<bool> flag when parse.GetValue(flag): fields[field] = true; break;
                case Option<long?> number when parse.GetValue(number) is { } n: fields[field] = n; break;
                case Option<double?> number when parse.GetValue(number) is { } d: fields[field] = d; break;
                case Option<string[]> list when parse.GetValue(list) is { Length: > 0 } items: fields[field] = new JsonArray([.. items.Select(i => (JsonNode?)i)]); break;
                case Option<long[]> list when parse.GetValue(list) is { Length: > 0 } items: fields[field] = new JsonArray([.. items.Select(i => (JsonNode?)i)]); break;
                case Option<string?> text when parse.GetValue(text) is { } value:
                    fields[field] = type == typeof(string) || type == typeof(DateTimeOffset) ? value : ParseJson(option.Name, value);
                    break;
            }
        }
    }

    private static JsonNode? ParseJson(string option, string text)
    {
        try
        {
            return JsonNode.Parse(text);
        }
        catch (JsonException e)
        {
            throw new UsageError($"{option} takes JSON: {e.Message}");
        }
    }

    private static bool IsListOf(Type type, Type item) =>
        type.IsArray ? (Nullable.GetUnderlyingType(type.GetElementType()!) ?? type.GetElementType()) == item
        : type.IsGenericType && type.GetGenericArguments() is [var arg] && (Nullable.GetUnderlyingType(arg) ?? arg) == item
          && typeof(System.Collections.IEnumerable).IsAssignableFrom(type);
}
