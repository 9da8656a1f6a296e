{#- Cross-buy between categories (品类交叉购买), one row per ordered pair of categories: of the
    identified members who bought category_a (a valid order line of a mapped product, any
    channel, the whole data), how many also bought category_b, and the share. The diagonal
    (category_b = category_a) gives the category's buyers. lift = share / (buyers of b / all
    buyers): above 1 when a's buyers buy b more often than buyers at large. -#}
with buyer_categories as (
    select distinct one_id, category
    from {{ ref('fct_order_lines') }}
    where is_valid_order and one_id is not null and category is not null and net_amount > 0
),

category_buyers as (
    select category, count(*) as buyers
    from buyer_categories
    group by category
),

all_buyers as (
    select count(distinct one_id) as buyers from buyer_categories
),

pairs as (
    select a.category as category_a, b.category as category_b, count(*) as both_buyers
    from buyer_categories as a
    inner join buyer_categories as b
        on b.one_id = a.one_id
    group by a.category, b.category
)

select
    pairs.category_a,
    pairs.category_b,
    buyers_a.buyers as category_a_buyers,
    pairs.both_buyers,
    {{ ratio('pairs.both_buyers', 'buyers_a.buyers') }} as share_of_a_buyers,
    {{ ratio(ratio('pairs.both_buyers', 'buyers_a.buyers'), ratio('buyers_b.buyers', 'all_buyers.buyers')) }}
        as lift
from pairs
inner join category_buyers as buyers_a
    on buyers_a.category = pairs.category_a
inner join category_buyers as buyers_b
    on buyers_b.category = pairs.category_b
cross join all_buyers
