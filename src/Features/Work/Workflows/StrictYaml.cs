using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Hive.Features.Work;

/// <summary>
/// Reading a YAML document strictly, as the workflow files are read: bounded in size and depth, no aliases, every key
/// known, every value of its type; a refusal is a <see cref="WorkflowException"/> with the line it is about.
/// </summary>
internal static class StrictYaml
{
    public const int MaxItems = 32;
    public const int MaxTextLength = 8000;

    public static YamlMappingNode Mapping(YamlNode node, string what) =>
        node as YamlMappingNode ?? throw new WorkflowException(node.Start.Line, $"{what} must be a mapping of keys to values");

    public static void Keys(YamlMappingNode node, string what, params string[] known)
    {
        foreach (var key in node.Children.Keys)
        {
            if (key is not YamlScalarNode { Value: { } name } || !known.Contains(name))
                throw new WorkflowException(key.Start.Line, $"{what} has an unknown key{(key is YamlScalarNode { Value: { Length: <= 40 } k } ? $" '{k}'" : "")}; known: {string.Join(", ", known)}");
        }
    }

    public static string? Text(YamlMappingNode node, string key, bool required = false)
    {
        if (!node.Children.TryGetValue(new YamlScalarNode(key), out var value))
            return required ? throw new WorkflowException(node.Start.Line, $"{key} is missing") : null;
        if (value is not YamlScalarNode scalar) throw new WorkflowException(value.Start.Line, $"{key} must be a plain value, not a list or mapping");
        if (scalar.Value is null or "" or "~" or "null") return required ? throw new WorkflowException(value.Start.Line, $"{key} is empty") : null;
        if (scalar.Value.Length > MaxTextLength) throw new WorkflowException(value.Start.Line, $"{key} is over {MaxTextLength} characters");
        return scalar.Value;
    }

    public static bool Flag(YamlMappingNode node, string key) => Text(node, key) switch
    {
        null or "false" => false,
        "true" => true,
        _ => throw At(node, key, $"{key} must be true or false"),
    };

    public static IReadOnlyList<string> List(YamlMappingNode node, string key)
    {
        if (!node.Children.TryGetValue(new YamlScalarNode(key), out var value)) return [];
        if (value is not YamlSequenceNode list) throw new WorkflowException(value.Start.Line, $"{key} must be a list");
        if (list.Children.Count > MaxItems) throw new WorkflowException(value.Start.Line, $"{key}: at most {MaxItems} items");
        var items = new List<string>();
        foreach (var item in list.Children)
        {
            if (item is not YamlScalarNode { Value: { Length: > 0 } text }) throw new WorkflowException(item.Start.Line, $"{key}: each item is a plain, non-empty value");
            if (text.Length > MaxTextLength) throw new WorkflowException(item.Start.Line, $"{key}: an item is over {MaxTextLength} characters");
            if (items.Contains(text)) throw new WorkflowException(item.Start.Line, $"{key}: an item appears twice");
            items.Add(text);
        }
        return items;
    }

    public static WorkflowException At(YamlMappingNode node, string key, string reason) =>
        new(node.Children.TryGetValue(new YamlScalarNode(key), out var value) ? value.Start.Line : node.Start.Line, reason);

    public const int MaxDepth = 16;
    public const int MaxEvents = 20_000;

    public static void Bound(string yaml)
    {
        var parser = new Parser(new StringReader(yaml));
        var (depth, events) = (0, 0);
        while (parser.MoveNext())
        {
            var current = parser.Current!;
            if (++events > MaxEvents) throw new WorkflowException(current.Start.Line, $"the file holds over {MaxEvents} YAML nodes");
            if (current is YamlDotNet.Core.Events.MappingStart or YamlDotNet.Core.Events.SequenceStart && ++depth > MaxDepth)
                throw new WorkflowException(current.Start.Line, $"nested over {MaxDepth} levels deep");
            if (current is YamlDotNet.Core.Events.MappingEnd or YamlDotNet.Core.Events.SequenceEnd) depth--;
            if (current is YamlDotNet.Core.Events.AnchorAlias) throw new WorkflowException(current.Start.Line, "a workflow file uses no aliases (*name)");
        }
    }

    /// <summary>The line where the last event the parser could read ends: the error lies just after it.</summary>
    public static long LastGoodLine(string yaml)
    {
        var parser = new Parser(new StringReader(yaml));
        long line = 1;
        try
        {
            while (parser.MoveNext()) line = parser.Current?.End.Line ?? line;
        }
        catch (Exception e) when (e is YamlException or InvalidOperationException)
        {
        }
        return line;
    }

    public static string FirstLine(string text) => text.Split('\n')[0].Trim();
}
