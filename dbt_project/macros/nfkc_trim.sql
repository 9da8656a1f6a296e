{#- A typed name in the form NFKC gives it, then trimmed: the fold under which the same name typed
    by two people is one name (a WeCom personal tag a guide types, stg_wecom__contact_tags).
    NFKC's full table is in neither DuckDB nor Spark SQL; this folds the forms Chinese input
    methods produce, which is what NFKC changes in such names: the full-width ASCII block
    U+FF01-U+FF5E (ＶＩＰ, ０-９, full-width punctuation) to ASCII, the ideographic space U+3000 and the
    no-break space U+00A0 to a space; then trim(). Three full-width characters are left as typed:
    the quote ＂, the apostrophe ＇ and the backslash ＼, whose ASCII forms a SQL literal would have to
    escape differently in each engine. One translate() call (one character to one, the same in
    both engines); emoji and CJK characters pass unchanged, as under NFKC. The pytest
    recomputation folds with Python's unicodedata.normalize('NFKC') and must agree. -#}
{% macro nfkc_trim(expr) -%}
trim(translate({{ expr }}, '！＃＄％＆（）＊＋，－．／０１２３４５６７８９：；＜＝＞？＠ＡＢＣＤＥＦＧＨＩＪＫＬＭＮＯＰＱＲＳＴＵＶＷＸＹＺ［］＾＿｀ａｂｃｄｅｆｇｈｉｊｋｌｍｎｏｐｑｒｓｔｕｖｗｘｙｚ｛｜｝～　 ', '!#$%&()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[]^_`abcdefghijklmnopqrstuvwxyz{|}~  '))
{%- endmacro %}
