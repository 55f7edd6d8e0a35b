using System.Text;
using Xunit.Abstractions;

namespace Hive.Tests.Architecture;

/// <summary>
/// No class in src/ over <see cref="MaxLines"/> lines. The measure (<see cref="TypeSizes"/>): each top-level type's
/// declaration, from its doc comment to its closing brace, parsed, not the file's lines; nested types count in the type
/// that holds them, the parts of a partial type add up, usings and the namespace line count in none. Build output
/// (obj, bin) and generated files are left out. A type over the limit is split by job, or listed below with one line
/// saying why it is long for a good reason.
/// </summary>
public sealed class ClassSizeTests(ITestOutputHelper output)
{
    private const int MaxLines = 250;

    /// <summary>Types allowed over <see cref="MaxLines"/>: full name → why. Keep it to a few.</summary>
    private static readonly IReadOnlyDictionary<string, string> Allowed = new Dictionary<string, string>
    {
    };

    [Fact]
    public void No_class_in_src_is_over_the_limit_unless_listed()
    {
        var sizes = TypeSizes.Of(TypeSizes.SourcesUnder("src"));
        foreach (var size in sizes.Where(s => s.Lines > 200)) output.WriteLine($"{size.Lines,4} {size.Type} ({string.Join(", ", size.Files)})");
        var violations = Violations(sizes, Allowed);
        Assert.True(violations.Count == 0, string.Join(Environment.NewLine, violations));
    }

    [Fact]
    public void Every_listed_class_is_still_long()
    {
        var sizes = TypeSizes.Of(TypeSizes.SourcesUnder("src")).ToDictionary(s => s.Type, s => s.Lines, StringComparer.Ordinal);
        Assert.All(Allowed.Keys, type =>
        {
            Assert.True(sizes.ContainsKey(type), $"{type} is not in src/ any more: drop it from the list");
            Assert.True(sizes[type] > MaxLines, $"{type} is {sizes[type]} lines now: drop it from the list");
        });
    }

    [Fact]
    public void A_long_class_fails_and_a_listed_one_passes()
    {
        var sources = new[]
        {
            ("src/A/Long.cs", ClassOf("Hive.A", "Long", bodyLines: MaxLines)),
            ("src/A/Short.cs", ClassOf("Hive.A", "Short", bodyLines: MaxLines - 10)),
        };

        var sizes = TypeSizes.Of(sources);

        Assert.Equal(MaxLines + 4, sizes.Single(s => s.Type == "Hive.A.Long").Lines); // doc comment, declaration and braces
        Assert.Equal(["Hive.A.Long is 254 lines (src/A/Long.cs): over 250; split it by job, or list it with a reason"], Violations(sizes, new Dictionary<string, string>()));
        Assert.Empty(Violations(sizes, new Dictionary<string, string> { ["Hive.A.Long"] = "a reason" }));
    }

    [Fact]
    public void The_parts_of_a_partial_class_add_up_and_two_types_in_a_file_count_apart()
    {
        var half = ClassOf("Hive.A", "Split", bodyLines: 130, partial: true);
        var two = ClassOf("Hive.A", "One", bodyLines: 140) + ClassOf("Hive.A", "Two", bodyLines: 140, header: false);

        var sizes = TypeSizes.Of([("src/A/Split.cs", half), ("src/A/Split.More.cs", half), ("src/A/Two.cs", two)]);

        Assert.Equal(2 * 134, sizes.Single(s => s.Type == "Hive.A.Split").Lines);
        Assert.Equal(["src/A/Split.More.cs", "src/A/Split.cs"], sizes.Single(s => s.Type == "Hive.A.Split").Files);
        Assert.Equal(144, sizes.Single(s => s.Type == "Hive.A.One").Lines);
        Assert.Equal(144, sizes.Single(s => s.Type == "Hive.A.Two").Lines);
        Assert.Equal(["Hive.A.Split"], Violations(sizes, new Dictionary<string, string>()).Select(v => v.Split(' ')[0]));
    }

    private static List<string> Violations(IEnumerable<TypeSizes.Size> sizes, IReadOnlyDictionary<string, string> allowed) =>
        sizes
            .Where(s => s.Lines > MaxLines && !allowed.ContainsKey(s.Type))
            .Select(s => $"{s.Type} is {s.Lines} lines ({string.Join(", ", s.Files)}): over {MaxLines}; split it by job, or list it with a reason")
            .ToList();

    /// <summary>A file holding one class: a one-line doc comment, the declaration, braces around <paramref name="bodyLines"/> lines.</summary>
    private static string ClassOf(string ns, string name, int bodyLines, bool partial = false, bool header = true)
    {
        var text = new StringBuilder(header ? $"using System;\n\nnamespace {ns};\n" : "");
        text.Append($"\n/// <summary>A class.</summary>\npublic {(partial ? "partial " : "")}class {name}\n{{\n");
        for (var i = 0; i < bodyLines; i++) text.Append(i % 2 == 0 ? $"    private int _f{i};\n" : "\n");
        return text.Append("}\n").ToString();
    }
}
