using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Reflection;
using System.Text.Json.Nodes;
using System.Text.Json.Schema;
using System.Text.Json.Serialization;
using Hive.Contracts.Json;

namespace Hive.Contracts.Protocol;

/// <summary>
/// The JSON schema of a verb's arguments, from its record (the BCL's <see cref="JsonSchemaExporter"/> over the wire's
/// options): <see cref="DescriptionAttribute"/>, <see cref="RequiredAttribute"/>, <see cref="RangeAttribute"/>,
/// <see cref="AllowedValuesAttribute"/>, <see cref="RegularExpressionAttribute"/> and <see cref="MaxLengthAttribute"/> on a
/// property become the schema's words. A field left out is how an agent omits it, so no field's type admits null.
/// </summary>
public static class VerbSchema
{
    private static readonly JsonSchemaExporterOptions Exporter = new()
    {
        TreatNullObliviousAsNonNullable = true,
        TransformSchemaNode = Annotate,
    };

    /// <summary>A verb's arguments: required are the fields marked <see cref="RequiredAttribute"/>, no others.</summary>
    public static JsonObject Of(Type args)
    {
        var schema = Export(args);
        if (args == typeof(NoArgs)) schema.Remove("additionalProperties");
        var required = args.GetProperties().Where(p => p.GetCustomAttribute<RequiredAttribute>() is not null).Select(WireName).ToList();
        if (required.Count > 0) schema["required"] = new JsonArray([.. required.Select(r => (JsonNode)r!)]);
        else schema.Remove("required");
        return schema;
    }

    /// <summary>A verb's reply: every field is there, except those left out when null.</summary>
    public static JsonObject OfReply(Type reply)
    {
        var schema = Export(reply);
        var leftOutWhenNull = reply.GetProperties()
            .Where(p => p.GetCustomAttribute<JsonIgnoreAttribute>()?.Condition is JsonIgnoreCondition.WhenWritingNull)
            .Select(WireName).ToHashSet();
        if (schema["required"] is JsonArray always)
            foreach (var name in always.Where(r => leftOutWhenNull.Contains(r!.GetValue<string>())).ToList()) always.Remove(name);
        return schema;
    }

    private static JsonObject Export(Type type)
    {
        var schema = HiveJson.Options.GetJsonSchemaAsNode(type, Exporter).AsObject();
        schema["properties"] ??= new JsonObject();
        return schema;
    }

    private static string WireName(PropertyInfo property) => HiveJson.Options.PropertyNamingPolicy!.ConvertName(property.Name);

    private static JsonNode Annotate(JsonSchemaExporterContext context, JsonNode schema)
    {
        // A type with a converter of its own (the wire's timestamps) comes out as the schema "true".
        if (context.TypeInfo.Type == typeof(DateTimeOffset) || context.TypeInfo.Type == typeof(DateTimeOffset?))
            schema = new JsonObject { ["type"] = "string", ["format"] = "date-time" };
        // A field of any type ("true") takes its words as {} does.
        if (schema is JsonValue && context.PropertyInfo is not null) schema = new JsonObject();
        if (schema is not JsonObject node) return schema;
        if (node["type"] is JsonArray types && types.Count == 2 && types.Any(t => t?.GetValue<string>() == "null"))
            node["type"] = types.First(t => t?.GetValue<string>() != "null")!.GetValue<string>();
        if (context.PropertyInfo?.AttributeProvider is not { } attributes) return node;
        foreach (var attribute in attributes.GetCustomAttributes(inherit: true))
        {
            switch (attribute)
            {
                case DescriptionAttribute d: node["description"] = d.Description; break;
                case RangeAttribute r: node["minimum"] = Convert.ToInt64(r.Minimum, System.Globalization.CultureInfo.InvariantCulture); node["maximum"] = Convert.ToInt64(r.Maximum, System.Globalization.CultureInfo.InvariantCulture); break;
                case AllowedValuesAttribute a: node["enum"] = new JsonArray([.. a.Values.Select(v => JsonValue.Create(v?.ToString()))]); break;
                case RegularExpressionAttribute p: node["pattern"] = p.Pattern; break;
                case MaxLengthAttribute m: node["maxItems"] = m.Length; break;
            }
        }
        return node;
    }
}
